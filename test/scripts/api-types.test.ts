/**
 * The web UI's wire types (web/src/api.gen.ts) are generated from the server's live OpenAPI
 * document, itself built from the TypeBox schemas: this fails when the checked-in file is stale,
 * so a schema change without `npm run gen:api` cannot land.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { API_TYPES_FILE, apiTypes, liveDocument } from "../../scripts/lib/api-types.js";

describe("web/src/api.gen.ts", () => {
  it("is what the live /openapi.json generates (else run npm run gen:api)", async () => {
    const doc = await liveDocument();
    const fresh = await apiTypes(doc);
    expect(readFileSync(API_TYPES_FILE, "utf8") === fresh, "web/src/api.gen.ts is stale: run npm run gen:api and commit it").toBe(true);
  });

  it("carries the document's enums and descriptions (the index kinds from the registry)", async () => {
    const doc = (await liveDocument()) as unknown as { paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { enum?: string[] }> } }> } } }> };
    const index = doc.paths["/api/v1/search"].post.requestBody.content["application/json"].schema.properties.index;
    const generated = readFileSync(API_TYPES_FILE, "utf8");
    expect(index.enum).toContain("exact");
    expect(generated).toContain(`index?: ${index.enum!.map((e) => JSON.stringify(e)).join(" | ")};`);
    expect(generated).toContain("Calibrated relevance in [0, 1]");
  });
});
