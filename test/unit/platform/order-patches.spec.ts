import { mergePatches } from '../../../src/order-store/order-patch.js';

/** Two patches of one order merged into one UPDATE must leave it as the two UPDATEs in turn would. */
describe('mergePatches', () => {
  it('the later value of a column wins, the columns of both are kept', () => {
    expect(mergePatches({ total: 10, currency: 'EUR' }, { paymentId: 'pay-1', total: 12 })).toEqual({ total: 12, currency: 'EUR', paymentId: 'pay-1' });
  });

  it('leaves out columns the later patch does not set', () => {
    expect(mergePatches({ carrier: 'DHL' }, { carrier: undefined, trackingNumber: 'SHIP-1' })).toEqual({ carrier: 'DHL', trackingNumber: 'SHIP-1' });
  });

  it('a shipment status moves on until it is final', () => {
    expect(mergePatches({ shipmentStatus: 'PENDING' }, { shipmentStatus: 'IN_TRANSIT' })).toEqual({ shipmentStatus: 'IN_TRANSIT' });
    expect(mergePatches({ shipmentStatus: 'IN_TRANSIT' }, { shipmentStatus: 'DELIVERED' })).toEqual({ shipmentStatus: 'DELIVERED' });
  });

  it.each(['DELIVERED', 'FAILED'] as const)('a final shipment status (%s) is not overwritten by a late, earlier one', (final) => {
    expect(mergePatches({ shipmentStatus: final, carrier: 'DHL' }, { shipmentStatus: 'IN_TRANSIT', trackingNumber: 'SHIP-2' })).toEqual({
      shipmentStatus: final,
      carrier: 'DHL',
      trackingNumber: 'SHIP-2',
    });
  });
});
