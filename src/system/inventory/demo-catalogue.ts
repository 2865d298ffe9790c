import type { DataSource } from 'typeorm';
import { insertMissingProducts } from './inventory.repository.js';

/** A few dozen products with prices and stock, so a fresh install has something to order. */
const NAMES = [
  'Espresso Beans 1kg',
  'Pour-Over Kettle',
  'Ceramic Dripper',
  'Paper Filters (100)',
  'Burr Grinder',
  'Milk Frother',
  'Travel Mug',
  'Cold Brew Jar',
  'Digital Scale',
  'Tamper 58mm',
  'Knock Box',
  'Cleaning Tablets',
  'Oolong Tea 250g',
  'Matcha Whisk',
  'Tea Infuser',
  'Glass Teapot',
  'Honey Jar',
  'Biscotti Box',
  'Chemex 6-Cup',
  'AeroPress',
  'Moka Pot',
  'French Press',
  'Latte Glasses (2)',
  'Espresso Cups (4)',
  'Barista Apron',
  'Descaler',
  'Water Filter',
  'Bean Canister',
  'Coffee Table Book',
  'Gift Card 50',
  'Decaf Beans 500g',
  'Single-Origin Sampler',
  'Syrup Vanilla',
  'Syrup Caramel',
  'Oat Milk 1L',
  'Cocoa Powder',
];

export const DEMO_PRODUCTS = NAMES.map((name, i) => ({
  productId: `SKU-${1001 + i}`,
  name,
  // Deterministic prices between 3.50 and 189.00 and stock between 150 and 1000.
  unitPrice: Math.round((3.5 + ((i * 37) % 186)) * 100) / 100,
  stock: 150 + ((i * 53) % 851),
}));

/** Idempotent: inserts missing products, never resets stock of existing ones. */
export function seedDemoCatalogue(dataSource: DataSource, currency: string): Promise<number> {
  return insertMissingProducts(
    dataSource,
    DEMO_PRODUCTS.map((p) => ({ productId: p.productId, name: p.name, unitPrice: p.unitPrice, currency, onHand: p.stock })),
  );
}
