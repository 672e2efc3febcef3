// The OpenTelemetry GenAI client metrics, as Prometheus histograms under their conventional names
// (`gen_ai.client.token.usage` → gen_ai_client_token_usage, `gen_ai.client.operation.duration` →
// gen_ai_client_operation_duration_seconds) with the conventions' attributes as labels and buckets.
import { Histogram, type Registry } from 'prom-client';
import type { ModelTarget, Usage } from '@pipewright/contracts';

type Labels = 'gen_ai_operation_name' | 'gen_ai_provider_name' | 'gen_ai_request_model';

export interface GenAiMetrics {
  tokenUsage: Histogram<Labels | 'gen_ai_token_type'>;
  duration: Histogram<Labels | 'error_type'>;
}

/** Bucket boundaries the semantic conventions advise for these two instruments. */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

export function createGenAiMetrics(registry: Registry): GenAiMetrics {
  const registers = [registry];
  return {
    tokenUsage: new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per model call, by token type (input, output): OpenTelemetry gen_ai.client.token.usage',
      labelNames: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_token_type'],
      buckets: TOKEN_BUCKETS,
      registers,
    }),
    duration: new Histogram({
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Duration of one model call, failed ones with error_type: OpenTelemetry gen_ai.client.operation.duration',
      labelNames: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'error_type'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
  };
}

/** Records one model call that was sent: its duration, and its tokens when it answered. */
export function observeModelCall(m: GenAiMetrics, model: ModelTarget, seconds: number, result: { usage: Usage } | { errorType: string }): void {
  const base = { gen_ai_operation_name: 'chat', gen_ai_provider_name: model.provider === 'default' ? 'openai' : model.provider, gen_ai_request_model: model.model };
  if ('errorType' in result) {
    m.duration.observe({ ...base, error_type: result.errorType }, seconds);
    return;
  }
  m.duration.observe({ ...base, error_type: '' }, seconds);
  m.tokenUsage.observe({ ...base, gen_ai_token_type: 'input' }, result.usage.inputTokens);
  m.tokenUsage.observe({ ...base, gen_ai_token_type: 'output' }, result.usage.outputTokens);
}
