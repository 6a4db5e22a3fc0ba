import fp from 'fastify-plugin';

/**
 * Uploaded modules and BTF arrive as raw bytes, up to BTFWATCH_UPLOAD_LIMIT; JSON is parsed whole, so it
 * has a limit of its own (BTFWATCH_JSON_LIMIT): a 64 MiB JSON body is refused as it arrives, not parsed.
 */
export const uploads = fp(
  async (app) => {
    const bodyLimit = app.deps.config.uploadLimitBytes;
    app.addContentTypeParser(
      ['application/octet-stream', 'application/x-object', 'application/x-elf'],
      { parseAs: 'buffer', bodyLimit },
      (_req, body, done) => done(null, body),
    );
    app.removeContentTypeParser(['application/json', 'text/plain']);
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: app.deps.config.jsonLimitBytes },
      app.getDefaultJsonParser('error', 'error'),
    );
  },
  { name: 'uploads', dependencies: ['resources'] },
);
