import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@pipewright/kit';
import { serveTool, ToolCallError, type ReceiptStore, type ToolHandle } from '@pipewright/tools';
import { z } from 'zod';
import { findOrder } from './orders.js';

/** One refund as the payment provider would record it. */
export interface Refund {
  refundId: string;
  orderId: string;
  cents: number;
  /** The call's idempotency key: the provider's own dedupe key, too. */
  idempotencyKey: string;
}

/**
 * A tool with an effect: it records refunds. With receipts (`dedupe`), a repeated call with the same
 * idempotency key — a redelivered command, a retry after a lost reply — gets the first call's result
 * (`cached: true`) and no second refund is made.
 */
export function serveRefund(nc: NatsConnection, opts: { dedupe: ReceiptStore; ledger: Refund[]; log?: Logger }): Promise<ToolHandle> {
  return serveTool(nc, {
    name: 'refund',
    description: 'Refunds part or all of an order. Use only after the order was looked up and the amount agreed.',
    version: '1.0.0',
    input: z.object({ orderId: z.string().regex(/^o-\d{4}$/), cents: z.number().int().positive(), reason: z.string().min(3).max(500) }).strict(),
    output: z.object({ refundId: z.string(), orderId: z.string(), cents: z.number().int() }),
    dedupe: opts.dedupe,
    log: opts.log,
    handler: ({ orderId, cents }, ctx) => {
      const order = findOrder(orderId);
      if (!order) return Promise.reject(new ToolCallError('order_not_found', `there is no order ${orderId}`, 'orderId'));
      const refunded = opts.ledger.filter((r) => r.orderId === orderId).reduce((sum, r) => sum + r.cents, 0);
      if (order.status === 'refunded' || refunded + cents > order.totalCents)
        return Promise.reject(new ToolCallError('refund_exceeds_total', `order ${orderId} has ${order.totalCents - refunded} cents left to refund`, 'cents'));
      const refund: Refund = { refundId: `rf-${opts.ledger.length + 1}`, orderId, cents, idempotencyKey: ctx.idempotencyKey };
      opts.ledger.push(refund);
      ctx.log?.info({ refund }, 'refund recorded');
      return Promise.resolve({ refundId: refund.refundId, orderId, cents });
    },
  });
}
