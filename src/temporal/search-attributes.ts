/**
 * Custom search attributes that let ops find a booking's workflows in the Web UI, e.g.
 * `CalendlyInviteeEmail = "ada@example.com"` or `CalendlyEventUuid = "<scheduled event uuid>"`.
 * Registered by the start command (dev server) and by the namespace job in docker-compose.yml.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const INVITEE_EMAIL = defineSearchAttributeKey('CalendlyInviteeEmail', SearchAttributeType.KEYWORD);
export const EVENT_UUID = defineSearchAttributeKey('CalendlyEventUuid', SearchAttributeType.KEYWORD);
export const DELIVERY_TYPE = defineSearchAttributeKey('CalendlyDeliveryType', SearchAttributeType.KEYWORD);

/** Name and CLI type of each attribute, for `temporal server start-dev --search-attribute Name=Type`. */
export const SEARCH_ATTRIBUTES = [
  { name: INVITEE_EMAIL.name, cliType: 'Keyword' },
  { name: EVENT_UUID.name, cliType: 'Keyword' },
  { name: DELIVERY_TYPE.name, cliType: 'Keyword' },
] as const;
