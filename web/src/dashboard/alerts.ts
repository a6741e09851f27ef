// Desktop notifications and a short sound for the dashboard. Permission is asked only
// from a click (browsers ignore or penalise asking on load). The sound is synthesised
// with Web Audio, so no media file (and no CSP media-src exception) is needed.

export type AlertPermission = NotificationPermission | 'unsupported';

export interface AlertsEnv {
  notification: typeof Notification | null;
  createAudio: (() => AudioContext) | null;
}

export function browserAlertsEnv(): AlertsEnv {
  const w = window as unknown as { AudioContext?: typeof AudioContext; webkitAudioContext?: typeof AudioContext };
  const Ctx = w.AudioContext ?? w.webkitAudioContext;
  return {
    notification: typeof Notification === 'undefined' ? null : Notification,
    createAudio: Ctx ? () => new Ctx() : null,
  };
}

export class Alerts {
  private audio: AudioContext | null = null;
  soundOn = true;

  constructor(private readonly env: AlertsEnv) {}

  get permission(): AlertPermission {
    return this.env.notification ? this.env.notification.permission : 'unsupported';
  }

  /** Call from a user gesture: asks for notification permission and unlocks audio. */
  async enable(): Promise<AlertPermission> {
    this.unlockAudio();
    if (!this.env.notification) return 'unsupported';
    if (this.env.notification.permission === 'default') {
      try {
        return await this.env.notification.requestPermission();
      } catch {
        return this.env.notification.permission;
      }
    }
    return this.env.notification.permission;
  }

  unlockAudio(): void {
    if (this.audio || !this.env.createAudio) return;
    try {
      this.audio = this.env.createAudio();
    } catch {
      this.audio = null;
    }
  }

  /** A desktop notification (when allowed) and, unless `sound` is false, the beep. */
  notify(title: string, body: string, tag: string, onClick?: () => void, sound = true): void {
    const N = this.env.notification;
    if (N && N.permission === 'granted') {
      try {
        const n = new N(title, { body: body.length > 140 ? `${body.slice(0, 139)}…` : body, tag });
        if (onClick) {
          n.onclick = () => {
            window.focus();
            onClick();
            n.close();
          };
        }
      } catch {
        // some platforms allow notifications only from a service worker
      }
    }
    if (sound) this.beep();
  }

  beep(): void {
    if (!this.soundOn || !this.audio) return;
    try {
      const ctx = this.audio;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = 'sine';
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.001, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.3);
    } catch {
      // audio is a nicety
    }
  }
}
