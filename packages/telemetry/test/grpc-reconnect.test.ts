import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { describe, expect, it } from 'vitest';
import { capReconnectBackoff, RECONNECT_OPTIONS } from '../src/grpc-reconnect.js';

interface Transport {
  _client?: { close(): void; getChannel(): { internalChannel?: { options: Record<string, unknown> } } };
}

const channelOptions = (transport: Transport) => transport._client!.getChannel().internalChannel?.options;

describe('capReconnectBackoff', () => {
  it('gives the exporter a client whose channel reconnects within seconds, also after the client is dropped', () => {
    const exporter = new OTLPTraceExporter({ url: 'http://127.0.0.1:1' });
    const transport = (exporter as unknown as { _delegate: { _transport: Transport } })._delegate._transport;
    expect(capReconnectBackoff(transport)).toBe(true);

    const first = transport._client!;
    expect(channelOptions(transport)).toMatchObject(RECONNECT_OPTIONS);
    expect(transport._client).toBe(first);

    // The exporter drops its client after repeated deadline errors; the next one is capped too.
    first.close();
    transport._client = undefined;
    const second = transport._client!;
    expect(second).not.toBe(first);
    expect(channelOptions(transport)).toMatchObject(RECONNECT_OPTIONS);
    second.close();
  });

  it('changes nothing on a transport of another shape', () => {
    const other = { _client: 'kept' };
    expect(capReconnectBackoff(other)).toBe(false);
    expect(capReconnectBackoff(undefined)).toBe(false);
    expect(other._client).toBe('kept');
  });
});
