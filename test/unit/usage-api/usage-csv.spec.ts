import { csvCell, usageCsv } from '../../../src/usage-api/domain/usage-csv';
import { parseCsv as parseRfc4180 } from '../../support/export-zip-reader';

/** What we write, parsed back by the tests' RFC 4180 reader; it must end with a line break. */
function parseCsv(text: string): string[][] {
  if (!text.endsWith('\r\n')) throw new Error('the CSV does not end with a line break');
  return parseRfc4180(text);
}

describe('usage CSV', () => {
  it('has a header and the JSON columns in order', () => {
    const csv = usageCsv([
      { group: '2026-03-01', requests: 3, inputTokens: 30, outputTokens: 12, cost: '0.000123' },
      { group: '2026-03-02', requests: 1, inputTokens: 0, outputTokens: 0, cost: '0.000000' },
    ]);
    expect(csv).toBe('group,requests,inputTokens,outputTokens,cost\r\n2026-03-01,3,30,12,0.000123\r\n2026-03-02,1,0,0,0.000000\r\n');
  });

  it('is only a header when there is no usage', () => {
    expect(usageCsv([])).toBe('group,requests,inputTokens,outputTokens,cost\r\n');
  });

  it.each(['=HYPERLINK("http://evil","x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\r=1'])('neutralises a formula-looking group %j', (name) => {
    const cell = parseCsv(usageCsv([{ group: name, requests: 1, inputTokens: 1, outputTokens: 1, cost: '1.000000' }]))[1][0];
    expect(cell).toBe(`'${name}`);
  });

  it('quotes commas, quotes, line breaks and edge spaces so every cell parses back', () => {
    const names = ['gpt-4o, "mini"', 'two\r\nlines', 'lf\nonly', ' padded ', 'plain', 'naïve-模型'];
    const rows = parseCsv(usageCsv(names.map((group) => ({ group, requests: 2, inputTokens: 5, outputTokens: 7, cost: '0.5' }))));
    expect(rows.slice(1).map((r) => r[0])).toEqual(names);
    for (const r of rows) expect(r).toHaveLength(5);
  });

  it('with two dimensions, has a subgroup column after group, empty for the rest, neutralised like the group', () => {
    const csv = usageCsv(
      [
        { group: '2026-03-01', subgroup: '=cmd', requests: 3, inputTokens: 30, outputTokens: 12, cost: '0.000123' },
        { group: '2026-03-01', subgroup: null, requests: 1, inputTokens: 0, outputTokens: 0, cost: '0.000001' },
      ],
      { subgroup: true },
    );
    expect(parseCsv(csv)).toEqual([
      ['group', 'subgroup', 'requests', 'inputTokens', 'outputTokens', 'cost'],
      ['2026-03-01', "'=cmd", '3', '30', '12', '0.000123'],
      ['2026-03-01', '', '1', '0', '0', '0.000001'],
    ]);
    expect(usageCsv([], { subgroup: true })).toBe('group,subgroup,requests,inputTokens,outputTokens,cost\r\n');
  });

  it('by key, has the key’s name after the id, neutralised, empty when unknown', () => {
    const csv = usageCsv(
      [
        { group: 'k1', name: '@prod, "main"', requests: 1, inputTokens: 2, outputTokens: 3, cost: '0.000001' },
        { group: 'k2', name: null, requests: 1, inputTokens: 2, outputTokens: 3, cost: '0.000001' },
      ],
      { name: true },
    );
    expect(parseCsv(csv)).toEqual([
      ['group', 'name', 'requests', 'inputTokens', 'outputTokens', 'cost'],
      ['k1', `'@prod, "main"`, '1', '2', '3', '0.000001'],
      ['k2', '', '1', '2', '3', '0.000001'],
    ]);
    expect(usageCsv([], { subgroup: true, name: true }).split('\r\n')[0]).toBe('group,subgroup,name,requests,inputTokens,outputTokens,cost');
  });

  it('leaves numbers as numbers', () => {
    expect(csvCell(12)).toBe('12');
    expect(csvCell('12.000000')).toBe('12.000000');
  });
});
