import { DeadLettersErrorCode, DeadLettersException } from '../../../src/experience/dead-letters/dead-letters.exception.js';
import { OrdersErrorCode, OrdersException } from '../../../src/experience/orders/orders.exception.js';
import { ParkedMessagesErrorCode, ParkedMessagesException } from '../../../src/experience/parked-messages/parked-messages.exception.js';
import { ProblemException } from '../../../src/platform/http/problem.js';
import { InventoryErrorCode, InventoryException } from '../../../src/system/inventory/inventory.exception.js';
import { PaymentErrorCode, PaymentException } from '../../../src/system/payment/payment.exception.js';
import { ShippingErrorCode, ShippingException } from '../../../src/system/shipping/shipping.exception.js';

describe('module exceptions: each code maps to its answer', () => {
  it.each([
    [new OrdersException(OrdersErrorCode.ORDER_NOT_FOUND, 'no such order'), 404, 'ORDER_NOT_FOUND'],
    [new OrdersException(OrdersErrorCode.IDEMPOTENCY_CONFLICT, 'reused'), 409, 'IDEMPOTENCY_CONFLICT'],
    [new OrdersException(OrdersErrorCode.INVALID_IDEMPOTENCY_KEY, 'bad key'), 400, 'VALIDATION_FAILED'],
    [new DeadLettersException(DeadLettersErrorCode.KAFKA_UNAVAILABLE, 'down'), 503, 'SERVICE_UNAVAILABLE'],
    [new ParkedMessagesException(ParkedMessagesErrorCode.NOT_PARKED, 'not parked'), 404, 'NOT_FOUND'],
  ])('%s → HTTP %i %s', (err, status, code) => {
    expect(err).toBeInstanceOf(ProblemException);
    expect(err.status).toBe(status);
    expect(err.toProblem()).toMatchObject({ status, code, detail: err.message });
  });

  it('keeps the module code beside the problem code', () => {
    const err = new OrdersException(OrdersErrorCode.INVALID_ORDER_ID, 'not a uuid');
    expect(err.errorCode).toBe(OrdersErrorCode.INVALID_ORDER_ID);
    expect(err.code).toBe('VALIDATION_FAILED');
  });

  it.each([
    [new PaymentException(PaymentErrorCode.UNAVAILABLE, 'outage'), 'PaymentException', { reason: 'PAYMENT_UNAVAILABLE', transient: true, detail: 'outage' }],
    [new PaymentException(PaymentErrorCode.ALREADY_REFUNDED, 'refunded'), 'PaymentException', { reason: 'ORDER_COMPENSATED', transient: false, detail: 'refunded' }],
    [new InventoryException(InventoryErrorCode.OUT_OF_STOCK, 'none left'), 'InventoryException', { reason: 'OUT_OF_STOCK', transient: false, detail: 'none left' }],
    [new ShippingException(ShippingErrorCode.CARRIER_REJECTED, 'no'), 'ShippingException', { reason: 'CARRIER_REJECTED', transient: false, detail: 'no' }],
  ])('%s → its rejection reply', (err, name, rejection) => {
    expect(err.name).toBe(name);
    expect(err.message).toBe(`${err.code}: ${err.detail}`);
    expect(err.toRejection()).toEqual(rejection);
  });
});
