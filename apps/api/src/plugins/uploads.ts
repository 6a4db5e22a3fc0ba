import fp from 'fastify-plugin';

/** Uploaded modules and BTF arrive as raw bytes, up to BTFWATCH_UPLOAD_LIMIT. */
export const uploads = fp(
  async (app) => {
    const bodyLimit = app.deps.config.uploadLimitBytes;
    app.addContentTypeParser(
      ['application/octet-stream', 'application/x-object', 'application/x-elf'],
      { parseAs: 'buffer', bodyLimit },
      (_req, body, done) => done(null, body),
    );
  },
  { name: 'uploads', dependencies: ['resources'] },
);
