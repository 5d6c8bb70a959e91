/** How the dashboard writes an instant: in the viewer's own locale and time zone. */
export function when(iso: string): string {
  return new Date(iso).toLocaleString();
}
