import { expect } from 'chai';
import { lookupSpec, normalisePart, recordKey, soqlLiteral, sourceKey, withSuffix } from '../../src/lookup/spec.js';

describe('lookup specs', () => {
  describe('key normalisation', () => {
    it('drops surrounding spaces and compares without case by default', () => {
      expect(normalisePart('  Ann@Example.COM ', false)).to.equal('ann@example.com');
      expect(normalisePart('  Ann@Example.COM ', true)).to.equal('Ann@Example.COM');
    });

    it('makes a source key and a record key of the same value equal', () => {
      const spec = lookupSpec('Contact', { column: 'OwnerEmail', user: 'Email' }, 0);
      expect(sourceKey(spec, [' ANN@example.com'])).to.equal(recordKey(spec, ['ann@EXAMPLE.com']));
    });

    it('keeps the parts of a key of several fields apart', () => {
      const spec = lookupSpec(
        'Contact',
        { column: ['A', 'B'], field: 'X__c', object: 'T__c', matchOn: ['F1__c', 'F2__c'] },
        0,
      );
      expect(sourceKey(spec, ['ab', 'c'])).to.not.equal(sourceKey(spec, ['a', 'bc']));
      expect(sourceKey(spec, ['a', ''])).to.not.equal(undefined);
    });

    it('has no key when every part is empty (the field stays empty)', () => {
      const spec = lookupSpec('Contact', { column: 'OwnerEmail', user: 'Email' }, 0);
      expect(sourceKey(spec, ['  '])).to.equal(undefined);
    });
  });

  describe('sandbox suffix', () => {
    it('is appended to a production username', () => {
      expect(withSuffix('ann@acme.com', '.uat')).to.equal('ann@acme.com.uat');
    });

    it('is not appended twice to a username that has it already (any case)', () => {
      expect(withSuffix('ann@acme.com.UAT', '.uat')).to.equal('ann@acme.com.UAT');
    });

    it('leaves an empty value empty', () => {
      expect(withSuffix(' ', '.uat')).to.equal('');
    });

    it('is part of the source key of a user lookup by Username', () => {
      const spec = lookupSpec('Contact', { column: 'Login', user: 'Username', sandboxSuffix: '.uat' }, 0);
      expect(sourceKey(spec, ['Ann@Acme.com'])).to.equal(recordKey(spec, ['ann@acme.com.uat']));
    });
  });

  describe('queries', () => {
    it('selects the record types of the step object by DeveloperName', () => {
      const spec = lookupSpec('Contact', { column: 'Type', recordType: 'DeveloperName' }, 0);
      expect(spec.query).to.equal("SELECT Id, DeveloperName FROM RecordType WHERE SobjectType = 'Contact'");
      expect(spec.field).to.equal('RecordTypeId');
    });

    it('selects IsActive of users, and writes OwnerId by default', () => {
      const spec = lookupSpec('Contact', { column: 'OwnerEmail', user: 'Email' }, 0);
      expect(spec.query).to.equal('SELECT Id, Email, IsActive FROM User');
      expect(spec).to.include({ field: 'OwnerId', inactive: 'fail', onMissing: 'fail' });
    });

    it('filters queues and public groups by type, then the manifest filter', () => {
      expect(lookupSpec('Case', { column: 'Q', queue: 'DeveloperName' }, 0).query).to.equal(
        "SELECT Id, DeveloperName FROM Group WHERE Type = 'Queue'",
      );
      const group = lookupSpec('Case', { column: 'G', group: 'Name', field: 'X__c', where: { Name: "O'Brien" } }, 0);
      expect(group.query).to.equal("SELECT Id, Name FROM Group WHERE Type = 'Regular' AND Name = 'O\\'Brien'");
    });

    it('quotes filter values as SOQL literals', () => {
      expect(soqlLiteral('a\\b')).to.equal("'a\\\\b'");
      expect(soqlLiteral(true)).to.equal('true');
      expect(soqlLiteral(3)).to.equal('3');
      expect(soqlLiteral(null)).to.equal('null');
    });

    it('shares one snapshot between lookups with the same query', () => {
      const a = lookupSpec('Contact', { column: 'A', user: 'Email' }, 0);
      const b = lookupSpec('Lead', { column: 'B', user: 'Email', field: 'X__c' }, 3);
      const c = lookupSpec('Lead', { column: 'B', user: 'Username' }, 3);
      expect(a.snapshotKey).to.equal(b.snapshotKey);
      expect(a.snapshotKey).to.not.equal(c.snapshotKey);
    });

    it('uses the default when one is given and onMissing is not', () => {
      expect(lookupSpec('Contact', { column: 'A', user: 'Email', default: 'x@y' }, 0).onMissing).to.equal('default');
    });
  });
});
