/* eslint-disable camelcase -- the proxy variables' own lower-case names (https_proxy, no_proxy) */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { BulkApiError } from '../../src/bulk/errors.js';
import { IngestJobClient } from '../../src/bulk/ingestJobClient.js';
import { noProxyMatches, proxyFor, ProxySettingError } from '../../src/bulk/proxy.js';
import { connectionPreflight } from '../../src/manifest/preflight.js';
import { startForwardProxy, type ForwardProxy } from '../helpers/forwardProxy.js';
import { FakeBulkOrg } from './fakeBulkOrg.js';

const PROXY_NAMES = ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY'];

describe('the org door (orgHttp)', () => {
  describe('noProxyMatches (proxy-from-env rules)', () => {
    const org = new URL('https://acme.my.salesforce.com/services/data');
    const cases: Array<[string, boolean]> = [
      ['', false],
      ['   ', false],
      ['*', true],
      ['acme.my.salesforce.com', true],
      ['ACME.my.Salesforce.com', true],
      // a plain entry is one host name, not a domain
      ['salesforce.com', false],
      ['my.salesforce.com', false],
      ['.salesforce.com', true],
      ['*.salesforce.com', true],
      ['*salesforce.com', true],
      ['.force.com', false],
      ['localhost,.salesforce.com', true],
      ['localhost .salesforce.com', true],
      ['localhost, ,127.0.0.1', false],
      ['acme.my.salesforce.com:443', true],
      ['acme.my.salesforce.com:8443', false],
      ['internal.example, *', true],
    ];
    for (const [noProxy, exempt] of cases) {
      it(`${JSON.stringify(noProxy)} ${exempt ? 'exempts' : 'does not exempt'} ${org.host}`, () => {
        expect(noProxyMatches(org, noProxy)).to.equal(exempt);
      });
    }

    it('compares ports with the scheme default when the URL has none', () => {
      expect(noProxyMatches(new URL('http://127.0.0.1/x'), '127.0.0.1:80')).to.equal(true);
      expect(noProxyMatches(new URL('http://127.0.0.1:8080/x'), '127.0.0.1:80')).to.equal(false);
      expect(noProxyMatches(new URL('http://127.0.0.1:8080/x'), '127.0.0.1')).to.equal(true);
      expect(noProxyMatches(new URL('http://[::1]:8080/x'), '[::1]:8080')).to.equal(true);
      expect(noProxyMatches(new URL('http://[::1]:8080/x'), '::1')).to.equal(true);
    });

    it('does not exempt loopback unless told: localhost is not special', () => {
      expect(noProxyMatches(new URL('http://127.0.0.1:1234/'), '')).to.equal(false);
      expect(noProxyMatches(new URL('http://localhost:1234/'), '.example.com')).to.equal(false);
    });
  });

  describe('proxyFor (jsforce’s choice of variable)', () => {
    const org = new URL('https://acme.my.salesforce.com/services/data');
    const local = new URL('http://127.0.0.1:4321/services/data');

    it('goes direct when no proxy variable is set', () => {
      expect(proxyFor(org, {})).to.equal(undefined);
      expect(proxyFor(org, { NO_PROXY: '*' })).to.equal(undefined);
    });

    it('takes the first of https_proxy, http_proxy, HTTPS_PROXY, HTTP_PROXY, for any scheme', () => {
      const all = {
        https_proxy: 'http://a:1',
        http_proxy: 'http://b:2',
        HTTPS_PROXY: 'http://c:3',
        HTTP_PROXY: 'http://d:4',
      };
      expect(proxyFor(org, all)?.host).to.equal('a:1');
      expect(proxyFor(local, all)?.host).to.equal('a:1');
      expect(proxyFor(local, { ...all, https_proxy: undefined })?.host).to.equal('b:2');
      expect(proxyFor(local, { HTTPS_PROXY: 'http://c:3', HTTP_PROXY: 'http://d:4' })?.host).to.equal('c:3');
      expect(proxyFor(org, { HTTP_PROXY: 'http://d:4' })?.host).to.equal('d:4');
    });

    it('reads an empty variable that comes first as "no proxy", as jsforce does', () => {
      expect(proxyFor(org, { https_proxy: '', HTTP_PROXY: 'http://d:4' })).to.equal(undefined);
    });

    it('takes a value without a scheme as http://, and keeps the credentials for the proxy', () => {
      expect(proxyFor(org, { HTTPS_PROXY: 'proxy.corp:3128' })?.href).to.equal('http://proxy.corp:3128/');
      expect(proxyFor(org, { HTTPS_PROXY: 'http://me:secret@proxy.corp:3128' })?.username).to.equal('me');
    });

    it('honours NO_PROXY, and no_proxy before it', () => {
      expect(proxyFor(org, { HTTPS_PROXY: 'http://c:3', NO_PROXY: '.salesforce.com' })).to.equal(undefined);
      expect(proxyFor(org, { HTTPS_PROXY: 'http://c:3', no_proxy: '.salesforce.com' })).to.equal(undefined);
      expect(proxyFor(org, { HTTPS_PROXY: 'http://c:3', no_proxy: 'other', NO_PROXY: '*' })?.host).to.equal('c:3');
      expect(proxyFor(org, { HTTPS_PROXY: 'http://c:3', no_proxy: '', NO_PROXY: '*' })).to.equal(undefined);
      expect(proxyFor(local, { HTTP_PROXY: 'http://d:4', NO_PROXY: '' })?.host).to.equal('d:4');
    });

    it('refuses a proxy that is not an http(s) URL, naming the variable and hiding the password', () => {
      for (const value of ['http://', 'socks5://me:secret@proxy:1080']) {
        const error = ((): unknown => {
          try {
            proxyFor(org, { HTTPS_PROXY: value });
          } catch (e) {
            return e;
          }
          return undefined;
        })() as ProxySettingError;
        expect(error).to.be.instanceOf(ProxySettingError);
        expect(error.message).to.contain('HTTPS_PROXY');
        expect(error.message).not.to.contain('secret');
      }
    });
  });

  describe('every exchange through the proxy', () => {
    let org: FakeBulkOrg;
    let proxy: ForwardProxy;
    let folder: string;
    const saved: Record<string, string | undefined> = {};

    beforeEach(async () => {
      for (const name of PROXY_NAMES) {
        saved[name] = process.env[name];
        delete process.env[name];
      }
      org = await FakeBulkOrg.start();
      proxy = await startForwardProxy();
      folder = await mkdtemp(join(tmpdir(), 'org-door-'));
    });

    afterEach(async () => {
      for (const name of PROXY_NAMES) {
        if (saved[name] === undefined) delete process.env[name];
        else process.env[name] = saved[name];
      }
      await Promise.all([org.stop(), proxy.stop()]);
      await rm(folder, { recursive: true, force: true });
    });

    async function lifecycle(): Promise<void> {
      const client = new IngestJobClient(await org.connection(), { sleep: async (): Promise<void> => {} });
      const job = await client.create({ object: 'Account', operation: 'insert' });
      org.expireSession();
      await client.upload(job.id, () => Readable.from([Buffer.from('Name\nAcme\n')]));
      await client.close(job.id);
      await client.poll(job.id, { initialMs: 1, maxMs: 1 });
      await client.saveResults(job.id, 'successful', join(folder, `${job.id}-success.csv`));
      await client.delete(job.id);
      for await (const listed of client.list()) expect(listed.id).to.be.a('string');
    }

    it('sends JSON calls, the refresh, the streamed upload and the download through HTTP_PROXY', async () => {
      process.env.HTTP_PROXY = proxy.url;
      process.env.NO_PROXY = '';
      await lifecycle();
      expect(org.refreshes).to.equal(1);
      expect(org.seen.length).to.be.greaterThan(8);
      expect(proxy.log.every((line) => line.forwarded && line.target.startsWith(org.instanceUrl))).to.equal(true);
      expect(proxy.log.map((line) => `${line.method} ${new URL(line.target).pathname}`)).to.deep.equal(
        org.seen.map((seen) => `${seen.method} ${seen.path}`),
      );
      expect(org.seen.map((seen) => seen.route)).to.include.members(['upload', 'results', 'resources']);
    });

    it('goes direct when NO_PROXY exempts the org', async () => {
      process.env.HTTP_PROXY = proxy.url;
      process.env.NO_PROXY = '127.0.0.1';
      await lifecycle();
      expect(org.seen.length).to.be.greaterThan(8);
      expect(proxy.log).to.deep.equal([]);
    });

    it('stops at once, sending nothing, when the proxy setting is not a URL it can use', async () => {
      process.env.HTTPS_PROXY = 'socks5://proxy.corp:1080';
      const client = new IngestJobClient(await org.connection(), { sleep: async (): Promise<void> => {} });
      const retries: unknown[] = [];
      client.on('retry', (event) => retries.push(event));
      const error = await client.create({ object: 'Account', operation: 'insert' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ProxySettingError);
      expect((error as ProxySettingError).actions?.join(' ')).to.contain('HTTPS_PROXY');
      const upload = await client
        .upload('750fk0000000001AAA', () => Readable.from([Buffer.from('Name\n')]))
        .catch((e: unknown) => e);
      expect(upload).to.be.instanceOf(ProxySettingError);
      expect(retries).to.deep.equal([]);
      expect(org.seen).to.deep.equal([]);
    });

    it('sends the credentials of the proxy URL, and says so when the proxy wants some', async () => {
      const guarded = await startForwardProxy({ credentials: 'me:p@ss' });
      try {
        const port = new URL(guarded.url).port;
        process.env.HTTP_PROXY = guarded.url;
        const client = new IngestJobClient(await org.connection(), { sleep: async (): Promise<void> => {} });
        const refused = (await client
          .create({ object: 'Account', operation: 'insert' })
          .catch((e: unknown) => e)) as BulkApiError;
        expect(refused).to.be.instanceOf(BulkApiError);
        expect(refused.status).to.equal(407);
        expect(refused.message).to.contain('proxy');
        expect(refused.actions?.join(' ')).to.contain('user:password');
        expect(org.seen).to.deep.equal([]);

        process.env.HTTP_PROXY = `http://me:p%40ss@127.0.0.1:${port}`;
        const job = await client.create({ object: 'Account', operation: 'insert' });
        await client.upload(job.id, () => Readable.from([Buffer.from('Name\nAcme\n')]));
        expect(guarded.log.filter((line) => line.forwarded)).to.have.length(2);
      } finally {
        await guarded.stop();
      }
    });

    it('sends the preflight’s limits and describe calls through the proxy', async () => {
      process.env.HTTP_PROXY = proxy.url;
      const preflightOrg = connectionPreflight(await org.connection());
      // the fake org knows no describe: its 404 still proves the way the call went
      await preflightOrg.describe('Account').catch(() => undefined);
      await preflightOrg.request('/limits').catch(() => undefined);
      expect(proxy.log.map((line) => new URL(line.target).pathname)).to.deep.equal([
        '/services/data/v62.0/sobjects/Account/describe',
        '/services/data/v62.0/limits',
      ]);
      expect(org.seen).to.have.length(2);
    });
  });
});
