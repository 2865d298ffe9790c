import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { RequireScopes, Scope } from '../../platform/auth/scopes.decorator.js';
import { InventoryRepository } from './inventory.repository.js';

export class ProductResponseDto {
  @ApiProperty({ example: 'SKU-1001' }) productId: string;
  @ApiProperty({ example: 'Espresso Beans 1kg' }) name: string;
  @ApiProperty({ example: 19.5 }) unitPrice: number;
  @ApiProperty({ example: 'EUR' }) currency: string;
  @ApiProperty({ example: 120, description: 'Stock on hand minus stock reserved for orders in flight' }) availableStock: number;
}

/** The inventory system's own read-only API: what can be ordered (docs/architecture.md §3). */
@ApiTags('inventory')
@Controller('inventory')
export class CatalogueController {
  constructor(private readonly inventory: InventoryRepository) {}

  @Get('products')
  @RequireScopes(Scope.ORDERS_READ)
  @ApiOperation({ summary: 'The product catalogue with prices and available stock' })
  @ApiOkResponse({ type: [ProductResponseDto] })
  @ApiServiceUnavailableResponse({ description: 'The database is unavailable' })
  async list(): Promise<ProductResponseDto[]> {
    const products = await this.inventory.catalogue();
    return products.map((p) => ({ productId: p.productId, name: p.name, unitPrice: p.unitPrice, currency: p.currency, availableStock: p.onHand - p.reserved }));
  }
}
