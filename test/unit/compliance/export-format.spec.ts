/** The pure parts of data exports: rows as JSON and CSV, and the section registry's rules. */
import { ExportSection, ExportSectionRegistry } from '../../../src/compliance/export/application/export-section';
import { csvHeader, csvLine, jsonLine } from '../../../src/compliance/export/domain/export-format';

const COLUMNS = ['id', 'name', 'count', 'flag', 'missing'] as const;

describe('export rows', () => {
  it('writes JSON with exactly the columns, in order, missing ones null', () => {
    expect(jsonLine(COLUMNS, { name: 'a "quoted" name', id: 'x1', count: 3, flag: false, extra: 'dropped' })).toBe(
      '{"id":"x1","name":"a \\"quoted\\" name","count":3,"flag":false,"missing":null}',
    );
    expect(JSON.parse(jsonLine(['a'], { a: 'line\nbreak' }))).toEqual({ a: 'line\nbreak' });
  });

  it('writes RFC 4180 CSV: quotes, commas and line breaks quoted, empty for null, CRLF', () => {
    expect(csvHeader(COLUMNS)).toBe('id,name,count,flag,missing\r\n');
    expect(csvLine(COLUMNS, { id: 'x1', name: 'a, "b"\nc', count: 3, flag: true, missing: null })).toBe('x1,"a, ""b""\nc",3,true,\r\n');
  });

  it('neutralises cells a spreadsheet would run as formulas, text only', () => {
    for (const danger of ['=1+1', '+1', '-2', '@SUM(A1)', '\tx', '\rx']) {
      expect(csvLine(['v'], { v: danger }).startsWith(`'`) || csvLine(['v'], { v: danger }).startsWith(`"'`)).toBe(true);
    }
    expect(csvLine(['v'], { v: -5 })).toBe('-5\r\n'); // a number is ours, not a person's text
  });
});

describe('export section registry', () => {
  const section = (name: string, order = 1, columns: string[] = ['a']): ExportSection => ({
    name,
    order,
    description: name,
    columns,
    count: () => Promise.resolve(0),
    batches: async function* () {},
  });

  it('lists sections by order, then name', () => {
    const r = new ExportSectionRegistry();
    r.register(section('b', 2));
    r.register(section('c', 1));
    r.register(section('a', 2));
    expect(r.all().map((s) => s.name)).toEqual(['c', 'a', 'b']);
  });

  it('refuses bad names, the manifest name, a name twice and empty or repeated columns', () => {
    const r = new ExportSectionRegistry();
    r.register(section('usage'));
    expect(() => r.register(section('usage'))).toThrow(/twice/);
    expect(() => r.register(section('manifest'))).toThrow(/not allowed/);
    expect(() => r.register(section('../etc'))).toThrow(/not allowed/);
    expect(() => r.register(section('Upper'))).toThrow(/not allowed/);
    expect(() => r.register(section('empty', 1, []))).toThrow(/columns/);
    expect(() => r.register(section('twice', 1, ['a', 'a']))).toThrow(/columns/);
  });
});
