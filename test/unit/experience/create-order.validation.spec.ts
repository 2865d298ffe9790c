import 'reflect-metadata';
import type { ArgumentMetadata } from '@nestjs/common';
import { CreateOrderRequestDto } from '../../../src/experience/orders/dto/create-order.request.dto.js';
import { ProblemException } from '../../../src/platform/http/problem.js';
import { createValidationPipe } from '../../../src/platform/http/validation.js';

const meta: ArgumentMetadata = { type: 'body', metatype: CreateOrderRequestDto };
const pipe = createValidationPipe();

function validOrder(): Record<string, any> {
  return {
    customer: { id: 'cust-1', name: 'Ada Lovelace', email: 'ada@example.com', phone: '+44 20 7946 0000' },
    shippingAddress: { line1: '12 St James Square', line2: 'Flat 3', city: 'London', postalCode: 'SW1Y 4JH', country: 'GB' },
    items: [{ productId: 'SKU-1001', quantity: 2 }],
    currency: 'EUR',
  };
}

async function violations(body: unknown): Promise<Array<{ field: string; message: string }>> {
  try {
    await pipe.transform(body, meta);
  } catch (err) {
    expect(err).toBeInstanceOf(ProblemException);
    const problem = (err as ProblemException).toProblem();
    expect(problem.status).toBe(400);
    expect(problem.code).toBe('VALIDATION_FAILED');
    return problem.errors ?? [];
  }
  return [];
}

describe('CreateOrderRequestDto validation', () => {
  it.each(['customer', 'shippingAddress'])('rejects %s given as an array (once a 500), naming it', async (field) => {
    const body = validOrder();
    body[field] = [body[field]];
    expect((await violations(body)).map((v) => v.field)).toContain(field);
  });

  it('rejects an empty line2 (the OrderCreated contract has no empty line2: such orders once stalled in RECEIVED)', async () => {
    const body = validOrder();
    body.shippingAddress.line2 = '';
    expect((await violations(body)).map((v) => v.field)).toEqual(['shippingAddress.line2']);
  });

  it('accepts a complete, valid order and returns a typed DTO', async () => {
    const dto = await pipe.transform(validOrder(), meta);
    expect(dto).toBeInstanceOf(CreateOrderRequestDto);
    expect(dto.items[0].quantity).toBe(2);
  });

  it('accepts the minimal order (optional fields left out)', async () => {
    const body = validOrder();
    delete body.customer.id;
    delete body.customer.phone;
    delete body.shippingAddress.line2;
    delete body.currency;
    await expect(violations(body)).resolves.toEqual([]);
  });

  it('lists every invalid field in one answer, with paths into nested objects and arrays', async () => {
    const body = validOrder();
    body.customer.email = 'not-an-email';
    body.shippingAddress.country = 'XX';
    body.items = [
      { productId: 'SKU-1001', quantity: 0 },
      { productId: 'bad id!', quantity: 1.5 },
    ];
    body.currency = 'EURO';
    const fields = (await violations(body)).map((v) => v.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['currency', 'customer.email', 'items[0].quantity', 'items[1].productId', 'items[1].quantity', 'shippingAddress.country']));
  });

  it.each([
    ['unknown top-level field', (b: any) => (b.discount = 10), 'discount'],
    ['unknown nested field', (b: any) => (b.customer.role = 'admin'), 'customer.role'],
    ['client-supplied price', (b: any) => (b.items[0].unitPrice = 0.01), 'items[0].unitPrice'],
  ])('rejects an %s', async (_name, mutate, field) => {
    const body = validOrder();
    mutate(body);
    expect((await violations(body)).map((v) => v.field)).toContain(field);
  });

  it.each([
    ['no items', (b: any) => (b.items = []), 'items'],
    ['101 items', (b: any) => (b.items = Array.from({ length: 101 }, (_, i) => ({ productId: `P${i}`, quantity: 1 }))), 'items'],
    ['quantity above 1000', (b: any) => (b.items[0].quantity = 1001), 'items[0].quantity'],
    ['quantity as a string', (b: any) => (b.items[0].quantity = '2'), 'items[0].quantity'],
    ['the same product twice', (b: any) => b.items.push({ productId: 'SKU-1001', quantity: 1 }), 'items'],
    ['missing customer', (b: any) => delete b.customer, 'customer'],
    ['missing address', (b: any) => delete b.shippingAddress, 'shippingAddress'],
    ['missing city', (b: any) => delete b.shippingAddress.city, 'shippingAddress.city'],
    ['items not an array', (b: any) => (b.items = { productId: 'SKU-1001', quantity: 1 }), 'items'],
  ])('rejects %s', async (_name, mutate, field) => {
    const body = validOrder();
    mutate(body);
    expect((await violations(body)).map((v) => v.field)).toContain(field);
  });

  it('rejects a body that is not an object', async () => {
    await expect(violations([1, 2, 3])).resolves.not.toEqual([]);
  });
});
