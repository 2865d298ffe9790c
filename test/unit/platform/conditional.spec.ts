import { etagOf, noneMatch } from '../../../src/platform/http/conditional.js';

describe('conditional reads', () => {
  const etag = etagOf('{"orderId":"o-1","status":"RECEIVED"}');

  it('names the content: the same body, the same strong ETag; any other body, another', () => {
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf('{"orderId":"o-1","status":"RECEIVED"}')).toBe(etag);
    expect(etagOf('{"orderId":"o-1","status":"SHIPPED"}')).not.toBe(etag);
  });

  it.each([
    ['the tag itself', etag],
    ['its weak form', `W/${etag}`],
    ['a list that names it', `"a", ${etag} ,W/"b"`],
    ['a list without spaces, weak', `W/"a",W/${etag}`],
    ['*', '*'],
    ['* with spaces', ' * '],
  ])('If-None-Match with %s matches', (_, header) => {
    expect(noneMatch(header, etag)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['other tags', '"a", W/"b"'],
    ['the tag without its quotes', etag.slice(1, -1)],
    ['a tag that only starts like it', `${etag.slice(0, -1)}x"`],
  ])('If-None-Match with %s does not match', (_, header) => {
    expect(noneMatch(header, etag)).toBe(false);
  });
});
