import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiClient } from '../shared/api';
import { Alerts, browserAlertsEnv } from './alerts';
import { Dashboard } from './Dashboard';
import { DashboardController } from './dashboardController';
import '../chat/chat.css';
import './dashboard.css';

const controller = new DashboardController({
  api: new ApiClient(),
  alerts: new Alerts(browserAlertsEnv()),
  // Visible is the proxy for "looking at it": focus is unreliable across windows.
  isAttentive: () => document.visibilityState === 'visible',
});

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Dashboard controller={controller} />
    </StrictMode>,
  );
}
