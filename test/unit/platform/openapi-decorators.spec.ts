/**
 * The recorded swagger decorators (src/platform/http/openapi-decorators.ts): nothing is written
 * until swagger is loaded, then each class gets exactly what the decorator would have written at
 * definition (class and method decorators, several on one method, in their order), and one
 * applied after the load is written at once.
 */
import 'reflect-metadata';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags, loadSwagger } from '../../../src/platform/http/openapi-decorators';

/** A class's `get` method, where swagger writes a method's metadata. */
const handlerOf = (cls: { prototype: object }): object => Object.getOwnPropertyDescriptor(cls.prototype, 'get')!.value as object;

@ApiTags('before')
class DefinedBefore {
  @ApiOperation({ summary: 'a summary' })
  @ApiOkResponse({ description: 'fine' })
  @ApiResponse({ status: 404, description: 'not there' })
  get(): void {}
}

describe('swagger decorators recorded until swagger loads', () => {
  it('writes nothing before the load, everything after it, and at once from then on', () => {
    expect(Reflect.getMetadataKeys(DefinedBefore).filter((k) => String(k).startsWith('swagger/'))).toEqual([]);
    expect(Reflect.getMetadataKeys(handlerOf(DefinedBefore)).filter((k) => String(k).startsWith('swagger/'))).toEqual([]);

    const { DECORATORS } = loadSwagger();
    expect(Reflect.getMetadata(DECORATORS.API_TAGS, DefinedBefore)).toEqual(['before']);
    expect(Reflect.getMetadata(DECORATORS.API_OPERATION, handlerOf(DefinedBefore))).toMatchObject({ summary: 'a summary' });
    const responses = Reflect.getMetadata(DECORATORS.API_RESPONSE, handlerOf(DefinedBefore)) as Record<string, { description: string }>;
    expect(Object.keys(responses).sort()).toEqual(['200', '404']);
    expect(responses['404'].description).toBe('not there');

    @ApiTags('after')
    class DefinedAfter {
      @ApiOperation({ summary: 'later' })
      get(): void {}
    }
    expect(Reflect.getMetadata(DECORATORS.API_TAGS, DefinedAfter)).toEqual(['after']);
    expect(Reflect.getMetadata(DECORATORS.API_OPERATION, handlerOf(DefinedAfter))).toMatchObject({ summary: 'later' });
  });
});
