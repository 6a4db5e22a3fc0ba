CREATE TABLE "catalog_versions" (
	"name" text PRIMARY KEY NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "package_locations" ADD COLUMN "first_seen_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "kernel_builds" ADD COLUMN "verdicts_version" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "module_builds_btf_idx" ON "module_builds" USING btree ("btf_sha256");