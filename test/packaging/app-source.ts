// The program the packaging test builds and runs in a project outside the workspace, with the
// @pipewright packages installed from their tarballs: a tool served with @pipewright/tools, a pipeline
// written with @pipewright/sdk that declares the tool from the same definition, submitted with the
// SDK's client; it prints one JSON line with what happened. Kept as text: it is compiled there, not here.
export const APP_TS = `
import { connect } from '@nats-io/transport-node';
import { connectionOptions } from '@pipewright/kit';
import { pipeline, PipewrightClient, tpl } from '@pipewright/sdk';
import { serveTool } from '@pipewright/tools';
import { z } from 'zod';

const calls: unknown[] = [];
const quotePrice = {
  name: 'quote_price',
  description: 'Prices an item by its SKU, in cents.',
  input: z.object({ sku: z.string() }).strict(),
  handler: async (args: { sku: string }) => {
    calls.push(args);
    return { sku: args.sku, cents: 1234 };
  },
};

const nc = await connect(connectionOptions({ NATS_URL: process.env.NATS_URL!, NATS_NKEY_SEED_FILE: process.env.NATS_NKEY_SEED_FILE }, 'packed-app'));
const tool = await serveTool(nc, quotePrice);

const quote = pipeline('packed-app', { input: z.object({ sku: z.string() }), defaults: { model: 'sim-small' } })
  .tool(quotePrice)
  .agent('price', { prompt: ({ input }) => tpl\`Packed app: price \${input.sku}\`, tools: ['quote_price'], output: z.object({ cents: z.number() }), maxIterations: 3 })
  .llm('note', { prompt: ({ steps }) => tpl\`Write a price note for \${steps.price.output.cents} cents\`, output: z.object({ note: z.string() }) });

const client = new PipewrightClient({ baseUrl: process.env.PW_CONSOLE_URL!, token: process.env.PW_CONSOLE_TOKEN! });
const runId = await client.submit(quote, { sku: 'mug-1' });
const out = await client.result(runId, { timeoutMs: 90_000 });
const note: string = out.note; // the output's type came through the installed type declarations
const detail = await client.get(runId);
console.log(JSON.stringify({ runId, note, out, calls, yamlLines: quote.toYaml().split('\\n').length, steps: detail.stepList.map((s) => ({ id: s.id, status: s.status, output: s.output })) }));
await tool.stop();
await nc.drain();
`;

export const APP_TSCONFIG = {
  compilerOptions: { target: 'ES2022', lib: ['ES2023'], module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, outDir: 'dist', rootDir: 'src', types: ['node'] },
  include: ['src'],
};

/** The model's side of the agent's conversation: call the tool, then answer. */
export const APP_SIM = {
  scripts: [
    {
      match: { contains: 'Packed app: price' },
      conversation: [{ content: 'Let me price it.', toolCalls: [{ name: 'quote_price', arguments: { sku: 'mug-1' } }] }, { json: { cents: 1234 } }],
    },
  ],
};
