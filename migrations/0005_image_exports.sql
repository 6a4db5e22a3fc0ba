ALTER TABLE "kernel_builds" ADD COLUMN "crc_check" jsonb;--> statement-breakpoint
ALTER TABLE "kernel_packages" ADD COLUMN "exports_sha256" text;--> statement-breakpoint
ALTER TABLE "kernel_packages" ADD COLUMN "exported_symbols" integer;--> statement-breakpoint
ALTER TABLE "kernel_packages" ADD COLUMN "vmlinux_exports" boolean DEFAULT false NOT NULL;