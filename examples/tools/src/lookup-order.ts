import type { NatsConnection } from '@nats-io/transport-node';
import { serveTool, ToolCallError, type ToolHandle } from '@pipewright/tools';
import { z } from 'zod';
import { findOrder } from './orders.js';

/** A read-only tool: no effects, so no receipts needed; calling it twice is harmless. */
export function serveLookupOrder(nc: NatsConnection): Promise<ToolHandle> {
  return serveTool(nc, {
    name: 'lookup-order',
    description: 'Looks up an order by its id (o-NNNN) and returns its status, total and items.',
    version: '1.0.0',
    input: z.object({ orderId: z.string().regex(/^o-\d{4}$/, 'an order id looks like o-1234') }).strict(),
    output: z.object({ id: z.string(), status: z.string(), totalCents: z.number().int(), currency: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number() })) }),
    handler: ({ orderId }) => {
      const order = findOrder(orderId);
      // Not found is an answer the model can act on, and asking again will not change it.
      if (!order) return Promise.reject(new ToolCallError('order_not_found', `there is no order ${orderId}`, 'orderId'));
      const { customer: _private, ...visible } = order;
      return Promise.resolve(visible);
    },
  });
}
