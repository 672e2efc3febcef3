import { Counter, Histogram, type Registry } from 'prom-client';

export interface ExecutorMetrics {
  stepDuration: Histogram<'outcome'>;
  calls: Counter<'model'>;
  replayed: Counter;
}

export function createMetrics(registry: Registry): ExecutorMetrics {
  return {
    stepDuration: new Histogram({ name: 'pw_step_duration_seconds', help: 'Time to run one step command, all attempts included', labelNames: ['outcome'], registers: [registry], buckets: [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60] }),
    calls: new Counter({ name: 'pw_model_calls_total', help: 'Model calls made, retries included', labelNames: ['model'], registers: [registry] }),
    replayed: new Counter({ name: 'pw_steps_replayed_total', help: 'Step commands answered from a checkpoint without a model call', registers: [registry] }),
  };
}
