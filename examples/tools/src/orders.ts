/** A fake order book: the example tools' "database". */
export interface Order {
  id: string;
  customer: string;
  status: 'paid' | 'shipped' | 'refunded';
  totalCents: number;
  currency: 'EUR' | 'USD';
  items: { sku: string; qty: number }[];
}

const ORDERS: readonly Order[] = [
  { id: 'o-1001', customer: 'ada@example.com', status: 'shipped', totalCents: 4_990, currency: 'EUR', items: [{ sku: 'kettle', qty: 1 }] },
  { id: 'o-1002', customer: 'alan@example.com', status: 'paid', totalCents: 12_500, currency: 'USD', items: [{ sku: 'mug', qty: 5 }] },
  { id: 'o-1003', customer: 'grace@example.com', status: 'refunded', totalCents: 990, currency: 'EUR', items: [{ sku: 'spoon', qty: 2 }] },
];

export function findOrder(id: string): Order | undefined {
  return ORDERS.find((o) => o.id === id);
}
