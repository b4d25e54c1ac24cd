/*
 * Which proxy, if any, an exchange with an org goes through: the sf CLI's choice from the environment
 * (proxyFor), NO_PROXY's exemptions (noProxyMatches), and the error a malformed proxy variable gets.
 * Separate from the org door (orgHttp.ts), which routes and sends exchanges, because this is pure
 * reading of settings: no sockets, no agents, testable from an environment map alone.
 *
 * The proxy, as the sf CLI chooses it. The sf CLI reaches orgs through @salesforce/core's Connection,
 * which is jsforce's. jsforce 3 (src/transport.ts, read in @jsforce/jsforce-node 3.12, the version
 * @salesforce/core 9 brings) sets its default proxy from `https_proxy`, `http_proxy`, `HTTPS_PROXY`,
 * `HTTP_PROXY`, the first one defined winning (`??`: an empty one means no proxy), and applies it to
 * every URL whatever its scheme (jsforce/jsforce#626: "HTTP_PROXY can be used for SSL, too"; #1256 added
 * HTTPS_PROXY; #1534 the lower-case names). This module picks the proxy the same way. jsforce itself
 * ignores NO_PROXY (jsforce/jsforce#1741, forcedotcom/cli#1798), while the parts of the sf CLI that fetch
 * through `proxy-agent` (plugin-info's release notes and doctor) honour it with `proxy-from-env`'s rules.
 * NO_PROXY is honoured here with those rules (see noProxyMatches), so a user who exempts the org from the
 * proxy is obeyed. One exchange is not ours to route: a token refresh is @salesforce/core's (AuthInfo
 * asks jsforce's OAuth2), which uses jsforce's default proxy and so ignores NO_PROXY.
 */
import { Messages, SfError } from '@salesforce/core';

Messages.importMessagesDirectoryFromMetaUrl(import.meta.url);
const messages = Messages.loadMessages('@sf-migrate/plugin-migrate', 'bulk');

/** The variables jsforce takes its proxy from, in its order. */
const PROXY_VARIABLES = ['https_proxy', 'http_proxy', 'HTTPS_PROXY', 'HTTP_PROXY'] as const;

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

const withoutBrackets = (host: string): string => host.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/**
 * Whether NO_PROXY exempts `target` from the proxy, by proxy-from-env's rules: entries separated by
 * commas or white space; `*` alone exempts everything; `host:port` applies to that port only (a URL
 * without a port has its scheme's default); an entry starting with `.` or `*` exempts the host names
 * that end with it (`*` dropped: `.example.com` and `*.example.com` exempt `a.example.com`, not
 * `example.com`); any other entry exempts exactly that host name. Case does not matter. Beyond
 * proxy-from-env: an IPv6 address matches with or without its brackets.
 */
export function noProxyMatches(target: URL, noProxy: string): boolean {
  const list = noProxy.trim().toLowerCase();
  if (list === '') return false;
  if (list === '*') return true;
  const hostname = withoutBrackets(target.hostname);
  const port = Number(target.port) || DEFAULT_PORTS[target.protocol] || 0;
  return list.split(/[,\s]+/).some((entry) => {
    if (entry === '') return false;
    if (entry === '*') return true;
    // a port follows a host name, an IPv4 address or a bracketed IPv6 one; a bare `::1` has none
    const withPort = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(entry);
    const entryHost = withoutBrackets(withPort ? withPort[1] : entry);
    if (withPort && Number(withPort[2]) !== port) return false;
    if (!/^[.*]/.test(entryHost)) return hostname === entryHost;
    return hostname.endsWith(entryHost.replace(/^\*/, ''));
  });
}

/** A proxy variable that is not a URL: a setting to fix, never worth a retry. */
export class ProxySettingError extends SfError {
  public constructor(variable: string, value: string, cause?: unknown) {
    // the proxy's credentials, if the URL has any, stay out of the message
    const shown = value.replace(/\/\/[^@/]*@/, '//***@');
    super(
      messages.getMessage('error.BadProxyUrl', [variable, shown]),
      'ProxySettingError',
      messages.getMessages('error.BadProxyUrl.actions', [variable]),
      cause instanceof Error ? cause : undefined,
    );
  }
}

/**
 * The proxy for an exchange with `target`, or undefined to go direct: the first of `https_proxy`,
 * `http_proxy`, `HTTPS_PROXY`, `HTTP_PROXY` that is defined (empty: no proxy), unless NO_PROXY (or
 * no_proxy) exempts the target. A value without a scheme (`proxy.corp:3128`) is taken as http://.
 */
export function proxyFor(target: URL, env: ProxyEnv = process.env): URL | undefined {
  const variable = PROXY_VARIABLES.find((name) => env[name] !== undefined);
  const value = variable ? env[variable]?.trim() : undefined;
  if (!variable || !value) return undefined;
  // proxy-from-env's reading: an empty no_proxy falls through to NO_PROXY
  const noProxy = [env.no_proxy, env.NO_PROXY].find((entry) => entry !== undefined && entry !== '') ?? '';
  if (noProxyMatches(target, noProxy)) return undefined;
  let proxy: URL;
  try {
    proxy = new URL(value.includes('://') ? value : `http://${value}`);
  } catch (error) {
    throw new ProxySettingError(variable, value, error);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') throw new ProxySettingError(variable, value);
  return proxy;
}
