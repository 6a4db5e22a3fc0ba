import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new Standard Webhooks secret (`whsec_` + base64 of 32 random bytes). */
export function generateSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** A message id usable as `webhook-id`: unique, and stable across retries of one delivery. */
export function generateMessageId(): string {
  return `msg_${randomBytes(16).toString('hex')}`;
}

/** The three Standard Webhooks headers for one attempt of a delivery. */
export function signedHeaders(
  secret: string,
  messageId: string,
  at: Date,
  body: string,
): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': new Webhook(secret).sign(messageId, new Date(timestamp * 1000), body),
  };
}
