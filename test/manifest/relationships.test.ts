import { expect } from 'chai';
import { parseRelationshipColumn, relationshipColumns } from '../../src/manifest/relationships.js';

describe('relationship columns', () => {
  const objectOf = (column: string, stepObject = 'Contact'): string | undefined =>
    parseRelationshipColumn(column, stepObject)?.object;

  it('maps a standard relationship named after its object', () => {
    expect(objectOf('Account.Legacy_Id__c')).to.equal('Account');
    expect(objectOf('Campaign.Ext__c', 'CampaignMember')).to.equal('Campaign');
  });
  it('maps a custom relationship to its custom object', () => {
    expect(objectOf('Invoice__r.Number__c', 'Line__c')).to.equal('Invoice__c');
  });
  it('takes the object of a polymorphic column from its type prefix: ObjectType:RelationshipName.Field', () => {
    expect(parseRelationshipColumn('User:Owner.Username', 'Lead')).to.deep.equal({
      column: 'User:Owner.Username',
      relationship: 'Owner',
      object: 'User',
      type: 'User',
    });
    expect(objectOf('Lead:Who.Email', 'Task')).to.equal('Lead');
    expect(objectOf('Group:Owner.Id', 'Case')).to.equal('Group');
    expect(objectOf('Account:What.Legacy_Id__c', 'Task')).to.equal('Account');
  });
  it('maps Parent and MasterRecord to the step object, ReportsTo to Contact, Owner to User', () => {
    expect(objectOf('Parent.Legacy_Id__c', 'Account')).to.equal('Account');
    expect(objectOf('MasterRecord.Ext__c', 'Lead')).to.equal('Lead');
    expect(objectOf('ReportsTo.Legacy_Id__c')).to.equal('Contact');
    expect(objectOf('Owner.Username', 'Account')).to.equal('User');
  });
  it('marks a polymorphic column without its type: Who and What anywhere, Owner of a Lead or a Case', () => {
    expect(parseRelationshipColumn('What.Ext__c', 'Task')).to.deep.equal({
      column: 'What.Ext__c',
      relationship: 'What',
      needsType: true,
    });
    expect(parseRelationshipColumn('Who.Email', 'Event')?.needsType).to.equal(true);
    expect(parseRelationshipColumn('Owner.Username', 'Lead')?.needsType).to.equal(true);
    expect(parseRelationshipColumn('Owner.Username', 'Case')?.needsType).to.equal(true);
    // Other objects' owners depend on the org (queues on custom objects): left to the preflight.
    expect(parseRelationshipColumn('Owner.Username', 'Invoice__c')?.needsType).to.equal(undefined);
  });
  it('recognises the reversed order Relationship:Type.Field and spells out the fix', () => {
    const reversed = (column: string, stepObject: string, stepObjects?: string[]): string | undefined =>
      parseRelationshipColumn(column, stepObject, { stepObjects })?.reversedFix;
    expect(reversed('Owner:User.Username', 'Lead')).to.equal('User:Owner.Username');
    expect(reversed('Who:Lead.Email', 'Task')).to.equal('Lead:Who.Email');
    expect(reversed('What:Invoice__c.Number__c', 'Task')).to.equal('Invoice__c:What.Number__c');
    // A custom lookup, or the Owner of a Contact, points to one object: the fix drops the type.
    expect(reversed('Agent__r:Broker__c.Ext__c', 'Deal__c')).to.equal('Agent__r.Ext__c');
    expect(reversed('Owner:User.Username', 'Contact')).to.equal('Owner.Username');
    expect(reversed('Parent:Account.Legacy_Id__c', 'Account')).to.equal('Account:Parent.Legacy_Id__c');
    // An object of the manifest is an object even if the offline tables do not know it.
    expect(reversed('Owner:Queue_Like.Ext__c', 'Lead', ['Queue_Like'])).to.equal('Queue_Like:Owner.Ext__c');
    // The reversed column still implies the parent it meant, so the waves are those of the fix.
    expect(objectOf('Owner:User.Username', 'Lead')).to.equal('User');
    // The right order is never taken for the reversed one.
    for (const [column, stepObject] of [
      ['User:Owner.Username', 'Lead'],
      ['Lead:Who.Email', 'Task'],
      ['Account:What.Ext__c', 'Task'],
      ['Broker__c:Agent__r.Ext__c', 'Deal__c'],
    ])
      expect(reversed(column, stepObject), column).to.equal(undefined);
  });
  it('marks a type prefix on a lookup known to point to one object', () => {
    const notNeeded = (column: string, stepObject: string): boolean | undefined =>
      parseRelationshipColumn(column, stepObject)?.typeNotNeeded;
    expect(notNeeded('User:Owner.Username', 'Account')).to.equal(true);
    expect(notNeeded('Contact:ReportsTo.Email', 'Contact')).to.equal(true);
    expect(notNeeded('Broker__c:Agent__r.Ext__c', 'Deal__c')).to.equal(true);
    expect(notNeeded('User:Owner.Username', 'Lead')).to.equal(undefined);
    expect(notNeeded('Lead:Who.Email', 'Task')).to.equal(undefined);
  });
  it('ignores plain fields and malformed names', () => {
    expect(relationshipColumns(['Id', 'Name', '.x', 'Account.', 'Legacy_Id__c'], 'Contact')).to.deep.equal([]);
  });
});
