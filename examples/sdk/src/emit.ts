// Prints the support-triage pipeline as YAML: `node examples/sdk/dist/emit.js > my.yaml`.
import { supportTriage } from './support-triage.js';

process.stdout.write(supportTriage.toYaml({ header: 'support-triage, emitted by examples/sdk (@pipewright/sdk)' }));
