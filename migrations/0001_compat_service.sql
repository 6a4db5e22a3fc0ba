DROP INDEX "verdicts_kernel_idx";--> statement-breakpoint
ALTER TABLE "packages" ADD COLUMN "depends_on" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "packages" ADD COLUMN "ingest_generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "packages_depends_on_idx" ON "packages" USING gin ("depends_on");--> statement-breakpoint
CREATE INDEX "kernel_builds_vermagic_idx" ON "kernel_builds" USING btree ("vermagic");--> statement-breakpoint
CREATE INDEX "kernel_builds_flavour_idx" ON "kernel_builds" USING btree ("distro","arch","flavour");--> statement-breakpoint
CREATE INDEX "kernel_builds_suites_idx" ON "kernel_builds" USING gin ("suites");--> statement-breakpoint
CREATE INDEX "kernel_packages_package_idx" ON "kernel_packages" USING btree ("package_sha256");--> statement-breakpoint
CREATE INDEX "verdicts_kernel_module_idx" ON "verdicts" USING btree ("kernel_build_id","module_build_id");--> statement-breakpoint
CREATE INDEX "verdicts_kernel_btf_idx" ON "verdicts" USING btree ("kernel_build_id","btf","module_build_id");--> statement-breakpoint
CREATE INDEX "alerts_severity_idx" ON "alerts" USING btree ("severity","id");--> statement-breakpoint
CREATE INDEX "jobs_name_created_idx" ON "jobs" USING btree ("name","created_at");--> statement-breakpoint
ALTER TABLE "module_builds" DROP COLUMN "base_refs";