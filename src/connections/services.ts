/** What every process needs to serve OAuth connections, built once from the configuration (none without OAuth). */
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config';
import { ConnectionTokens } from './connection-tokens';
import { OAuthConnect } from './oauth-connect';
import { SecretBox } from './secret-box';

export interface ConnectionServices {
  box: SecretBox;
  tokens: ConnectionTokens;
  connect: OAuthConnect;
  /** WEBHOOK_URL; an OAuth connection's is this plus `/<connection id>` (the personal token connection's is this one) */
  webhookUrl: string;
}

export function connectionServicesFrom(config: Pick<Config, 'oauth' | 'calendly' | 'webhookUrl'>, orm: MikroORM): ConnectionServices | undefined {
  if (!config.oauth) return undefined;
  const { clientId, clientSecret, redirectUri, authBaseUrl, encryptionKey } = config.oauth;
  const app = { clientId, clientSecret, redirectUri, authBaseUrl };
  const box = new SecretBox(encryptionKey);
  const tokens = new ConnectionTokens({ orm, app, box, apiBaseUrl: config.calendly.apiBaseUrl });
  return {
    box,
    tokens,
    connect: new OAuthConnect({ orm, app, box, tokens }),
    webhookUrl: config.webhookUrl,
  };
}
