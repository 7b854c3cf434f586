// Placeholder: the proxy handler is being written (issue 2).
export const handler = async (): Promise<{ statusCode: number; body: string }> => ({ statusCode: 200, body: '' });
