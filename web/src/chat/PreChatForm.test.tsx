import { fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { PreChatForm } from './PreChatForm';

describe('PreChatForm', () => {
  it('shows inline errors for the server\'s rules and does not submit', async () => {
    const onSubmit = vi.fn();
    render(<PreChatForm greeting="Hi!" submitting={false} serverErrors={{}} formError={null} onSubmit={onSubmit} />);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText(/Email/), 'not-an-email');
    await user.click(screen.getByRole('button', { name: 'Start chat' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByText('Please enter your name.')).toBeTruthy();
    expect(screen.getByText(/valid email address/)).toBeTruthy();
    expect(screen.getByText(/what this is about/)).toBeTruthy();
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(screen.getByLabelText('Name'));
  });

  it('submits a valid form with the optional fields left empty', async () => {
    const onSubmit = vi.fn();
    render(<PreChatForm greeting="" submitting={false} serverErrors={{}} formError={null} onSubmit={onSubmit} />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'John' } });
    fireEvent.change(screen.getByLabelText('Subject'), { target: { value: 'Order not arrived' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start chat' }));
    expect(onSubmit).toHaveBeenCalledWith({ user_name: 'John', user_email: '', subject: 'Order not arrived', message: '' });
  });

  it('shows a server validation error on its field', () => {
    render(<PreChatForm greeting="" submitting={false} serverErrors={{ user_email: 'user_email is not a valid email address' }} formError={null} onSubmit={() => undefined} />);
    expect(screen.getByText('user_email is not a valid email address')).toBeTruthy();
  });

  it('rejects a subject over 200 characters', () => {
    const onSubmit = vi.fn();
    render(<PreChatForm greeting="" submitting={false} serverErrors={{}} formError={null} onSubmit={onSubmit} />);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'John' } });
    fireEvent.change(screen.getByLabelText('Subject'), { target: { value: 's'.repeat(201) } });
    fireEvent.click(screen.getByRole('button', { name: 'Start chat' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByText(/at most 200 characters/)).toBeTruthy();
  });

  it('shows no error on blur, so the layout stays still and the first click on Start chat counts', () => {
    const onSubmit = vi.fn();
    render(<PreChatForm greeting="" submitting={false} serverErrors={{}} formError={null} onSubmit={onSubmit} />);
    const name = screen.getByLabelText('Name');
    name.focus();
    fireEvent.blur(name);
    expect(screen.queryByText('Please enter your name.')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Start chat' }));
    expect(screen.getByText('Please enter your name.')).toBeTruthy();
    expect(document.activeElement).toBe(name);
  });

  it('starts with the name and email of the last chat', () => {
    render(<PreChatForm greeting="" submitting={false} serverErrors={{}} formError={null} onSubmit={() => undefined} initial={{ user_name: 'Jane', user_email: 'jane@example.com' }} />);
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('Jane');
    expect((screen.getByLabelText(/Email/) as HTMLInputElement).value).toBe('jane@example.com');
    expect((screen.getByLabelText('Subject') as HTMLInputElement).value).toBe('');
  });
});
