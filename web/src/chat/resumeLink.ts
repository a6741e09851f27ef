// The link back into a conversation that every email carries (issue 18):
// `/support/chat?resume=TOKEN`. The page takes the token out of the address bar before
// anything else runs, so a reload, a bookmark or a shared screenshot never holds it and
// it is traded only once; the token is never logged or shown.

export const RESUME_PARAM = 'resume';

export interface AddressBar {
  readonly href: string;
  replace: (url: string) => void;
}

/** The browser's address bar (history.replaceState keeps the page, drops the token). */
export function browserAddressBar(): AddressBar {
  return {
    href: window.location.href,
    replace: (url) => window.history.replaceState(window.history.state, '', url),
  };
}

/** Reads the link's token and removes it from the address (other parameters stay); null without one. */
export function takeResumeToken(bar: AddressBar): string | null {
  let url: URL;
  try {
    url = new URL(bar.href);
  } catch {
    return null;
  }
  if (!url.searchParams.has(RESUME_PARAM)) return null;
  const token = url.searchParams.get(RESUME_PARAM)?.trim() ?? '';
  url.searchParams.delete(RESUME_PARAM);
  bar.replace(`${url.pathname}${url.search}${url.hash}`);
  return token === '' ? null : token;
}
