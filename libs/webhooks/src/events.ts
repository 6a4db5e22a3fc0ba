export const EVENT_TYPES = ['alert.btf_break', 'kernel.ingested', 'scan.failed'] as const;
export type EventType = (typeof EVENT_TYPES)[number] | 'webhook.ping';

/** The JSON body of every delivery, per the Standard Webhooks recommendation: type, timestamp, data. */
export interface EventEnvelope {
  type: EventType;
  timestamp: string;
  data: Record<string, unknown>;
}

export function envelope(type: EventType, at: Date, data: Record<string, unknown>): EventEnvelope {
  return { type, timestamp: at.toISOString(), data };
}
