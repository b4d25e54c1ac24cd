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
  it('takes the object of a polymorphic column from its type prefix', () => {
    expect(objectOf('Owner:User.Username')).to.equal('User');
    expect(objectOf('Who:Lead.Email', 'Task')).to.equal('Lead');
  });
  it('maps Parent and MasterRecord to the step object, ReportsTo to Contact, Owner to User', () => {
    expect(objectOf('Parent.Legacy_Id__c', 'Account')).to.equal('Account');
    expect(objectOf('MasterRecord.Ext__c', 'Lead')).to.equal('Lead');
    expect(objectOf('ReportsTo.Legacy_Id__c')).to.equal('Contact');
    expect(objectOf('Owner.Username', 'Account')).to.equal('User');
  });
  it('leaves a polymorphic column without a type without an object', () => {
    const parsed = parseRelationshipColumn('What.Ext__c', 'Task');
    expect(parsed).to.deep.equal({ column: 'What.Ext__c', relationship: 'What' });
  });
  it('ignores plain fields and malformed names', () => {
    expect(relationshipColumns(['Id', 'Name', '.x', 'Account.', 'Legacy_Id__c'], 'Contact')).to.deep.equal([]);
  });
});
