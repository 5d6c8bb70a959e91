/**
 * Custom search attributes that let ops find a booking's workflows in the Web UI, e.g.
 * `CalendlyInviteeEmail = "ada@example.com"` or `CalendlyEventUuid = "<scheduled event uuid>"`.
 * Registered by the start command (dev server) and by the namespace job in docker-compose.yml.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const INVITEE_EMAIL = defineSearchAttributeKey('CalendlyInviteeEmail', SearchAttributeType.KEYWORD);
export const EVENT_UUID = defineSearchAttributeKey('CalendlyEventUuid', SearchAttributeType.KEYWORD);
export const DELIVERY_TYPE = defineSearchAttributeKey('CalendlyDeliveryType', SearchAttributeType.KEYWORD);
/** On meeting workflows: filter by `MeetingStart > "2026-12-01T00:00:00Z"` or `MeetingStatus = "active"`. */
export const MEETING_START = defineSearchAttributeKey('MeetingStart', SearchAttributeType.DATETIME);
export const MEETING_STATUS = defineSearchAttributeKey('MeetingStatus', SearchAttributeType.KEYWORD);

/** Name and CLI type of each attribute, for `temporal server start-dev --search-attribute Name=Type`. */
export const SEARCH_ATTRIBUTES = [
  { name: INVITEE_EMAIL.name, cliType: 'Keyword' },
  { name: EVENT_UUID.name, cliType: 'Keyword' },
  { name: DELIVERY_TYPE.name, cliType: 'Keyword' },
  { name: MEETING_START.name, cliType: 'Datetime' },
  { name: MEETING_STATUS.name, cliType: 'Keyword' },
] as const;
