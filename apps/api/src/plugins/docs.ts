import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import responseValidation from '@fastify/response-validation';
import ajvFormats from 'ajv-formats';

export interface DocsOptions {
  specification: Record<string, unknown>;
  /** Validate every response against the contract: its body, and that its status is one the operation declares. */
  validateResponses: boolean;
}

/** openapi.yaml served as is (and its UI at /docs); responses checked against it. */
export const docs = fp<DocsOptions>(
  async (app, options) => {
    await app.register(swagger, {
      mode: 'static',
      specification: { document: options.specification as never },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    if (options.validateResponses)
      await app.register(responseValidation, {
        // removeAdditional: false, or a field the contract does not declare would be stripped silently
        // (the plugin's default) instead of failing.
        ajv: {
          coerceTypes: false,
          removeAdditional: false,
          keywords: ['example'],
          plugins: [ajvFormats as never],
        },
        responseStatusCodeValidation: true,
      });
  },
  { name: 'docs' },
);
