/**
 * Pure functions over a group's settings as the controller stores and shows them: the canonical JSON
 * a revision stores (so equal settings are equal text), and the redacted copy the API returns (proxy
 * passwords replaced by `xxxxx`; the stored settings keep them because agents need them).
 */
import type { ObservedState, ProxyView } from '../protocol/observed.js';
import type { Settings } from '../protocol/settings.js';
import { redactUrl } from '../protocol/values.js';
import { renderCanonicalJson } from '../protocol/canonical-json.js';

/**
 * Canonical JSON of normalised settings: keys sorted, absent optionals left out, list order kept
 * (mirror order is a preference). Two settings are the same exactly when this text is.
 */
export function renderSettingsJson(settings: Settings): string {
  return renderCanonicalJson(settings);
}

function redactProxy<T extends { http?: string | undefined; https?: string | undefined }>(proxy: T): T {
  return {
    ...proxy,
    ...(proxy.http !== undefined ? { http: redactUrl(proxy.http) } : {}),
    ...(proxy.https !== undefined ? { https: redactUrl(proxy.https) } : {}),
  };
}

/** A copy of `settings` safe to show: every proxy URL's credentials replaced by `xxxxx`. */
export function redactSettings(settings: Settings): Settings {
  return {
    ...settings,
    daemonProxy: settings.daemonProxy ? redactProxy(settings.daemonProxy) : null,
    clientProxy: settings.clientProxy ? redactProxy(settings.clientProxy) : null,
  };
}

function redactProxyView(view: ProxyView | null): ProxyView | null {
  if (!view) return view;
  return { ...view, http: view.http === null ? null : redactUrl(view.http), https: view.https === null ? null : redactUrl(view.https) };
}

/**
 * A copy of an agent's observed state with every proxy URL redacted. Agents already redact; this makes
 * sure a faulty one cannot leak a password through the API.
 */
export function redactObserved(observed: ObservedState): ObservedState {
  const files = observed.files;
  return {
    ...observed,
    files: {
      ...files,
      daemonJsonProxy: redactProxyView(files.daemonJsonProxy),
      dropInProxy: redactProxyView(files.dropInProxy),
      clientProxies: Object.fromEntries(Object.entries(files.clientProxies).map(([user, view]) => [user, redactProxyView(view)])),
    },
    daemon: { ...observed.daemon, proxy: redactProxyView(observed.daemon.proxy)! },
  };
}
