import { expect } from 'chai';
import { KeyPieces, fieldOfColumn, keyFieldOf, takesBeforeImages } from '../../src/engine/beforeImages.js';
import { orgTimeMs, verdictOf } from '../../src/rollback/conflicts.js';
import { MAX_SOQL_CHARACTERS, soqlLiteral } from '../../src/bulk/soql.js';
import { BEFORE_IMAGE_KEYS_PER_QUERY, estimateBeforeImageCalls } from '../../src/plan/budget.js';

describe('before images: what is saved, how rows are found', () => {
  it('names the field each upload column writes', () => {
    expect(fieldOfColumn('Name')).to.equal('Name');
    expect(fieldOfColumn('Account.Legacy_Id__c')).to.equal('AccountId');
    expect(fieldOfColumn('Parent__r.Ext__c')).to.equal('Parent__c');
    expect(fieldOfColumn('User:Owner.Username')).to.equal('OwnerId');
  });

  it('finds rows by the key the job matches on, and takes no image of an insert or when turned off', () => {
    expect(keyFieldOf({ operation: 'upsert', externalIdField: 'Legacy_Id__c' })).to.equal('Legacy_Id__c');
    expect(keyFieldOf({ operation: 'update', externalIdField: 'Legacy_Id__c' })).to.equal('Id');
    expect(keyFieldOf({ operation: 'delete' })).to.equal('Id');
    expect(takesBeforeImages({ operation: 'insert' })).to.equal(false);
    expect(takesBeforeImages({ operation: 'update' })).to.equal(true);
    expect(takesBeforeImages({ operation: 'hardDelete' })).to.equal(true);
    expect(takesBeforeImages({ operation: 'upsert', beforeImage: false })).to.equal(false);
  });

  it('cuts keys into SOQL statements no longer than the limit, every key in exactly one', () => {
    const prefix = 'SELECT Id FROM Account WHERE Id IN (';
    const pieces = new KeyPieces(prefix, 100);
    const statements: string[] = [];
    const keys = Array.from({ length: 23 }, (_, i) => `001000000000${String(i).padStart(3, '0')}`);
    for (const key of keys) {
      const full = pieces.add(key);
      if (full) statements.push(full);
    }
    statements.push(pieces.flush()!);
    expect(pieces.flush()).to.equal(undefined);
    for (const soql of statements) {
      expect(soql.length).to.be.at.most(100);
      expect(soql.startsWith(prefix) && soql.endsWith(')')).to.equal(true);
    }
    const found = statements.flatMap((soql) => soql.slice(prefix.length, -1).split(',')).map((l) => l.slice(1, -1));
    expect(found).to.deep.equal(keys);
  });

  it('quotes keys as SOQL literals', () => {
    expect(soqlLiteral("O'Brien\\x")).to.equal("'O\\'Brien\\\\x'");
  });

  it('costs a query per piece of a job, nothing for inserts', () => {
    expect(BEFORE_IMAGE_KEYS_PER_QUERY * 21).to.be.at.most(MAX_SOQL_CHARACTERS - 2000);
    expect(estimateBeforeImageCalls(10_000, { operation: 'update' })).to.equal(3 * 4);
    expect(estimateBeforeImageCalls(1, { operation: 'upsert' })).to.equal(4);
    expect(estimateBeforeImageCalls(10_000, { operation: 'insert' })).to.equal(0);
    expect(estimateBeforeImageCalls(10_000, { operation: 'update', beforeImage: false })).to.equal(0);
  });
});

describe('rollback: records changed after the run', () => {
  const writesEndedMs = Date.parse('2026-11-29T23:00:00.500Z');
  const rule = { runUserId: '005000000000001AAA', writesEndedMs };

  it('reads the org time form', () => {
    expect(orgTimeMs('2026-11-29T23:00:00.500+0000')).to.equal(writesEndedMs);
    expect(orgTimeMs('2026-11-30T00:00:00.500+0100')).to.equal(writesEndedMs);
  });

  it('is changed when modified later than the run or by someone else; missing when gone', () => {
    expect(verdictOf(undefined, rule).kind).to.equal('missing');
    const by = (id: string, at: string): string => verdictOf({ lastModifiedById: id, lastModifiedDate: at }, rule).kind;
    expect(by(rule.runUserId, '2026-11-29T23:00:00.000+0000')).to.equal('unchanged');
    expect(by(rule.runUserId, '2026-11-29T23:00:00.500+0000')).to.equal('unchanged');
    expect(by(rule.runUserId, '2026-11-29T23:00:01.000+0000')).to.equal('changed');
    expect(by('005000000000002AAA', '2026-11-29T22:00:00.000+0000')).to.equal('changed');
    // without the run's user (not found in the org) the time rule alone decides
    const timeOnly = verdictOf(
      { lastModifiedById: 'x', lastModifiedDate: '2026-11-29T22:00:00.000+0000' },
      { writesEndedMs },
    );
    expect(timeOnly.kind).to.equal('unchanged');
  });
});
