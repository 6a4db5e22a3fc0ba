ALTER TABLE "mirror_suites" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "mirror_suites" ADD COLUMN "last_error_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mirrors" ADD COLUMN "match_patterns" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "mirrors" ADD COLUMN "allow_expired" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "mirrors" ADD COLUMN "last_scan_warnings" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
UPDATE "mirrors" SET "match_patterns" = jsonb_build_array("match") WHERE "match" IS NOT NULL AND "match" <> '';
