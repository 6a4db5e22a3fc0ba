CREATE TABLE "mirror_suites" (
	"mirror_id" integer NOT NULL,
	"suite" text NOT NULL,
	"index_sha256" text,
	"etag" text,
	"last_modified" text,
	"signed_by" text,
	"scanned_at" timestamp with time zone,
	"state" jsonb,
	CONSTRAINT "mirror_suites_mirror_id_suite_pk" PRIMARY KEY("mirror_id","suite")
);
--> statement-breakpoint
CREATE TABLE "mirrors" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"url" text NOT NULL,
	"suites" jsonb NOT NULL,
	"components" jsonb NOT NULL,
	"arch" text NOT NULL,
	"match" text,
	"distro" text NOT NULL,
	"keyring" text,
	"insecure" boolean DEFAULT false NOT NULL,
	"scan_interval_seconds" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_scan_at" timestamp with time zone,
	"last_scan_error" text
);
--> statement-breakpoint
CREATE TABLE "blobs" (
	"sha256" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"size" bigint NOT NULL,
	"encoding" text NOT NULL,
	"data" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "package_locations" (
	"package_sha256" text NOT NULL,
	"mirror_id" integer NOT NULL,
	"suite" text NOT NULL,
	"url" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "package_locations_package_sha256_mirror_id_suite_pk" PRIMARY KEY("package_sha256","mirror_id","suite")
);
--> statement-breakpoint
CREATE TABLE "packages" (
	"sha256" text PRIMARY KEY NOT NULL,
	"format" text NOT NULL,
	"name" text NOT NULL,
	"version" text NOT NULL,
	"arch" text NOT NULL,
	"source" text,
	"source_version" text,
	"size" bigint NOT NULL,
	"role" text NOT NULL,
	"depends" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"provides" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"error_code" text,
	"error_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ingested_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "kernel_builds" (
	"id" serial PRIMARY KEY NOT NULL,
	"distro" text NOT NULL,
	"release" text NOT NULL,
	"version" text NOT NULL,
	"arch" text NOT NULL,
	"flavour" text,
	"kernel_version" text,
	"image_package" text,
	"base_btf_sha256" text,
	"nr_types" integer,
	"str_len" integer,
	"vermagic" text,
	"config" jsonb,
	"symvers_sha256" text,
	"exported_symbols" integer,
	"suites" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"evaluated_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "kernel_packages" (
	"kernel_build_id" integer NOT NULL,
	"package_sha256" text NOT NULL,
	"role" text NOT NULL,
	"has_vmlinuz" boolean DEFAULT false NOT NULL,
	"modules" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "module_builds" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"package_sha256" text NOT NULL,
	"path" text NOT NULL,
	"name" text NOT NULL,
	"release" text NOT NULL,
	"vermagic" text,
	"srcversion" text,
	"btf_sha256" text,
	"btf_size" integer,
	"has_btf_base" boolean DEFAULT false NOT NULL,
	"btf_base_sha256" text,
	"imported_crcs" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"base_refs" "bytea",
	"build_base_sha256" text,
	"build_base_how" text,
	"kernel_build_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "base_pairs" (
	"from_sha256" text NOT NULL,
	"to_sha256" text NOT NULL,
	"changed_types" integer NOT NULL,
	"changed_strings" integer NOT NULL,
	"diff" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "base_pairs_from_sha256_to_sha256_pk" PRIMARY KEY("from_sha256","to_sha256")
);
--> statement-breakpoint
CREATE TABLE "verdicts" (
	"module_build_id" bigint NOT NULL,
	"kernel_build_id" integer NOT NULL,
	"btf" text NOT NULL,
	"load" text NOT NULL,
	"load_reason" text,
	"abi" text NOT NULL,
	"evidence" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "verdicts_module_build_id_kernel_build_id_pk" PRIMARY KEY("module_build_id","kernel_build_id")
);
--> statement-breakpoint
CREATE TABLE "alerts" (
	"id" serial PRIMARY KEY NOT NULL,
	"kind" text DEFAULT 'btf_break' NOT NULL,
	"kernel_build_id" integer NOT NULL,
	"cause" text NOT NULL,
	"severity" text NOT NULL,
	"summary" text NOT NULL,
	"affected_modules" integer NOT NULL,
	"details" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"webhook_id" integer NOT NULL,
	"event" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_status_code" integer,
	"last_error" text,
	"response_prefix" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" serial PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"secret" text NOT NULL,
	"events" jsonb NOT NULL,
	"description" text,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"name" text NOT NULL,
	"data" jsonb NOT NULL,
	"state" text NOT NULL,
	"progress" jsonb,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 5 NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"result" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "mirror_suites" ADD CONSTRAINT "mirror_suites_mirror_id_mirrors_id_fk" FOREIGN KEY ("mirror_id") REFERENCES "public"."mirrors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "package_locations" ADD CONSTRAINT "package_locations_package_sha256_packages_sha256_fk" FOREIGN KEY ("package_sha256") REFERENCES "public"."packages"("sha256") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "package_locations" ADD CONSTRAINT "package_locations_mirror_id_mirrors_id_fk" FOREIGN KEY ("mirror_id") REFERENCES "public"."mirrors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "kernel_packages" ADD CONSTRAINT "kernel_packages_kernel_build_id_kernel_builds_id_fk" FOREIGN KEY ("kernel_build_id") REFERENCES "public"."kernel_builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "module_builds" ADD CONSTRAINT "module_builds_package_sha256_packages_sha256_fk" FOREIGN KEY ("package_sha256") REFERENCES "public"."packages"("sha256") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "module_builds" ADD CONSTRAINT "module_builds_kernel_build_id_kernel_builds_id_fk" FOREIGN KEY ("kernel_build_id") REFERENCES "public"."kernel_builds"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_module_build_id_module_builds_id_fk" FOREIGN KEY ("module_build_id") REFERENCES "public"."module_builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "verdicts" ADD CONSTRAINT "verdicts_kernel_build_id_kernel_builds_id_fk" FOREIGN KEY ("kernel_build_id") REFERENCES "public"."kernel_builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alerts" ADD CONSTRAINT "alerts_kernel_build_id_kernel_builds_id_fk" FOREIGN KEY ("kernel_build_id") REFERENCES "public"."kernel_builds"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "package_locations_mirror_idx" ON "package_locations" USING btree ("mirror_id","suite");--> statement-breakpoint
CREATE INDEX "packages_name_version_idx" ON "packages" USING btree ("name","version");--> statement-breakpoint
CREATE INDEX "packages_status_idx" ON "packages" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "kernel_builds_identity_idx" ON "kernel_builds" USING btree ("distro","release","version","arch");--> statement-breakpoint
CREATE INDEX "kernel_builds_base_idx" ON "kernel_builds" USING btree ("base_btf_sha256");--> statement-breakpoint
CREATE INDEX "kernel_builds_release_idx" ON "kernel_builds" USING btree ("release");--> statement-breakpoint
CREATE UNIQUE INDEX "kernel_packages_idx" ON "kernel_packages" USING btree ("kernel_build_id","package_sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "module_builds_identity_idx" ON "module_builds" USING btree ("package_sha256","path");--> statement-breakpoint
CREATE INDEX "module_builds_release_idx" ON "module_builds" USING btree ("release");--> statement-breakpoint
CREATE INDEX "module_builds_vermagic_idx" ON "module_builds" USING btree ("vermagic");--> statement-breakpoint
CREATE INDEX "module_builds_kernel_idx" ON "module_builds" USING btree ("kernel_build_id");--> statement-breakpoint
CREATE INDEX "module_builds_name_idx" ON "module_builds" USING btree ("name");--> statement-breakpoint
CREATE INDEX "verdicts_kernel_idx" ON "verdicts" USING btree ("kernel_build_id","btf");--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_cause_idx" ON "alerts" USING btree ("kernel_build_id","cause");--> statement-breakpoint
CREATE INDEX "alerts_created_idx" ON "alerts" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook_idx" ON "webhook_deliveries" USING btree ("webhook_id","created_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "jobs_due_idx" ON "jobs" USING btree ("queue","state","run_at");