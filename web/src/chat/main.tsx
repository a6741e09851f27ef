import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiClient } from '../shared/api';
import { i18nFor } from '../shared/i18n/catalogues';
import { I18nContext } from '../shared/i18n/context';
import { ChatApp } from './ChatApp';
import { readEmbedConfig } from './embedConfig';
import { createHostBridge } from './hostBridge';
import { browserAddressBar, takeResumeToken } from './resumeLink';
import { browserStorage, SessionStore } from './session';
import './chat.css';

// First of all: an email's link token leaves the address bar (a reload must not trade it again).
const resumeToken = takeResumeToken(browserAddressBar());
const config = readEmbedConfig(location.search, window.parent !== window, navigator.languages ?? [navigator.language]);
const i18n = i18nFor(config.locale);
// <html lang dir>: screen readers speak the right language, and right-to-left
// languages mirror the layout (chat.css uses logical properties).
document.documentElement.lang = config.locale.language;
document.documentElement.dir = config.locale.dir;
document.title = i18n.t('app.title');
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <I18nContext value={i18n}>
        <ChatApp config={config} api={new ApiClient()} sessions={new SessionStore(browserStorage())} bridge={createHostBridge(config.hostOrigin)} resumeToken={resumeToken} />
      </I18nContext>
    </StrictMode>,
  );
}
