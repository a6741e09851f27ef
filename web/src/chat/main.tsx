import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiClient } from '../shared/api';
import { ChatApp } from './ChatApp';
import { readEmbedConfig } from './embedConfig';
import { createHostBridge } from './hostBridge';
import { browserStorage, SessionStore } from './session';
import './chat.css';

const config = readEmbedConfig(location.search, window.parent !== window);
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ChatApp config={config} api={new ApiClient()} sessions={new SessionStore(browserStorage())} bridge={createHostBridge(config.hostOrigin)} />
    </StrictMode>,
  );
}
