/**
 * The key an invitee's email is known by: Calendly keeps the case and spacing an invitee typed, so the same person
 * books as "Ann@Example.com " one day and "ann@example.com" the next.
 */
export function emailKeyOf(email: string): string {
  return email.trim().toLowerCase();
}
