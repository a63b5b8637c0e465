import { Component, type ReactNode } from "react";

/** Props of {@link ErrorBoundary}. */
export interface ErrorBoundaryProps {
  readonly children?: ReactNode;
  /** Called with a render error; the runner unmounts (restoring the terminal) and reports it. */
  readonly onError: (e: unknown) => void;
}

/** Turns a render-time exception into an orderly exit instead of a half-drawn screen. */
export default class ErrorBoundary extends Component<ErrorBoundaryProps, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }
  override componentDidCatch(e: unknown): void {
    this.props.onError(e);
  }
  override render(): ReactNode {
    return this.state.failed ? null : this.props.children;
  }
}
