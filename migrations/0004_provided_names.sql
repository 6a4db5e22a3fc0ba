ALTER TABLE "packages" ADD COLUMN "provided_names" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
UPDATE "packages" SET "provided_names" = ARRAY(
  SELECT DISTINCT regexp_replace(substring(btrim(alt) from '^[^\s(]*'), ':[a-z0-9-]+$', '')
  FROM jsonb_array_elements_text("provides") AS p(entry), regexp_split_to_table(p.entry, '\|') AS alt
  WHERE substring(btrim(alt) from '^[^\s(]*') <> ''
  ORDER BY 1
) WHERE "provides" <> '[]'::jsonb;--> statement-breakpoint
CREATE INDEX "packages_provided_names_idx" ON "packages" USING gin ("provided_names");
