/**
 * The account API of USDC/USDT payments: what is offered (GET /api/billing/crypto-options),
 * intents (POST/GET /api/billing/crypto-intents) and
 * claims of transfers that matched no intent (GET /api/billing/crypto-claims/message, POST
 * /api/billing/crypto-claims). Amounts are decimal strings of 6 decimals (1 token = 1 credit).
 */
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '../../../platform/http/openapi-decorators';
import { z } from 'zod';
import { AccountApi, CurrentPrincipal } from '../../../auth/http/account-guard';
import { Principal } from '../../../auth/http/principal';
import { ApiErrors, jsonSchema } from '../../../platform/http/openapi';
import { parseWith } from '../../../platform/http/validation';
import { formatCredits } from '../../../shared/money';
import { ClaimsService } from '../application/claims.service';
import { IntentsService } from '../application/intents.service';
import { TX_HASH } from '../domain/crypto';

const intentBody = z
  .object({
    chain: z.string().min(1).max(32),
    token: z.string().min(1).max(16),
    amount: z.string().max(32),
  })
  .strict();
const intentAnswer = z.object({
  id: z.string(),
  chain: z.string(),
  chainId: z.number(),
  token: z.string(),
  tokenAddress: z.string(),
  address: z.string(),
  amount: z.string(),
  expiresAt: z.string(),
});
const intentStatus = intentAnswer.extend({
  status: z.enum(['pending', 'seen', 'credited', 'expired', 'rejected']),
  txHash: z.string().nullable(),
  confirmations: z.number().nullable(),
});
const txHash = z.string().regex(TX_HASH, 'must be a transaction hash: 0x and 64 hex digits');
const messageQuery = z.object({ chain: z.string().min(1).max(32), txHash }).strict();
const claimBody = z
  .object({
    chain: z.string().min(1).max(32),
    txHash,
    logIndex: z.number().int().min(0).max(1_000_000).optional(),
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature: 0x and 130 hex digits'),
  })
  .strict();
const optionsAnswer = z.object({
  chains: z
    .array(
      z.object({
        name: z.string().describe('what POST /api/billing/crypto-intents takes as `chain`'),
        chainId: z.number().int(),
        tokens: z.array(z.object({ symbol: z.string().describe('what it takes as `token`'), address: z.string().describe("the token contract's address (lower case)") })),
      }),
    )
    .describe('the chains this gateway is configured to receive payments on, and their tokens; empty when none (crypto payments are off)'),
});
const claimAnswer = z.object({ chain: z.string(), txHash: z.string(), logIndex: z.number(), token: z.string(), amount: z.string(), status: z.literal('credited') });

@ApiTags('usage and billing')
@AccountApi()
@Controller('api/billing')
export class CryptoController {
  constructor(
    private readonly intents: IntentsService,
    private readonly claims: ClaimsService,
  ) {}

  @Get('crypto-options')
  @ApiOperation({ summary: 'The chains and tokens crypto payments are offered on here (no RPC URL: it may carry a provider key)' })
  @ApiOkResponse({ schema: jsonSchema(optionsAnswer) })
  options(): z.infer<typeof optionsAnswer> {
    return { chains: this.intents.offered().map((c) => ({ name: c.name, chainId: c.chainId, tokens: c.tokens.map((t) => ({ symbol: t.symbol, address: t.address })) })) };
  }

  @Post('crypto-intents')
  @HttpCode(201)
  @ApiOperation({ summary: 'Ask to pay in USDC or USDT: the exact amount to send, to which address, until when' })
  @ApiCreatedResponse({ schema: jsonSchema(intentAnswer) })
  @ApiErrors('validation_failed', 'chain_not_offered', 'token_not_offered', 'intents_exhausted')
  async create(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<z.infer<typeof intentAnswer>> {
    const input = parseWith(intentBody, body);
    const i = await this.intents.create(me.accountId, input);
    return { id: i.intentId, chain: i.chain, chainId: i.chainId, token: i.token, tokenAddress: i.tokenAddress, address: i.address, amount: formatCredits(i.amount), expiresAt: i.expiresAt.toISOString() };
  }

  @Get('crypto-intents/:id')
  @ApiOperation({ summary: "A payment intent's status: pending, seen (awaiting finality), credited, expired or rejected" })
  @ApiOkResponse({ schema: jsonSchema(intentStatus) })
  @ApiErrors('intent_not_found')
  async get(@CurrentPrincipal() me: Principal, @Param('id') id: string): Promise<z.infer<typeof intentStatus>> {
    const v = await this.intents.get(me.accountId, id);
    const i = v.intent;
    return {
      id: i.intentId,
      chain: v.chain,
      chainId: i.chainId,
      token: i.token,
      tokenAddress: i.tokenAddress,
      address: i.address,
      amount: formatCredits(i.amount),
      expiresAt: i.expiresAt.toISOString(),
      status: v.status,
      txHash: v.txHash,
      confirmations: v.confirmations,
    };
  }

  @Get('crypto-claims/message')
  @ApiOperation({ summary: 'The message the paying wallet signs (personal_sign) to claim a transfer that matched no intent' })
  @ApiOkResponse({ schema: jsonSchema(z.object({ message: z.string() })) })
  @ApiErrors('validation_failed', 'chain_not_offered', 'deposit_not_found')
  async message(@CurrentPrincipal() me: Principal, @Query() query: Record<string, unknown>): Promise<{ message: string }> {
    const q = parseWith(messageQuery, query, 'query');
    return { message: await this.claims.message(me.accountId, q.chain, q.txHash) };
  }

  @Post('crypto-claims')
  @HttpCode(200)
  @ApiOperation({ summary: 'Claim a transfer with the signature of the wallet that sent it: what arrived is credited, once' })
  @ApiOkResponse({ schema: jsonSchema(claimAnswer) })
  @ApiErrors(
    'validation_failed',
    'chain_not_offered',
    'deposit_not_found',
    'log_index_required',
    'claim_signature_invalid',
    'deposit_not_final',
    'deposit_already_credited',
    'deposit_rejected',
    'chain_unavailable',
  )
  async claim(@CurrentPrincipal() me: Principal, @Body() body: unknown): Promise<z.infer<typeof claimAnswer>> {
    const input = parseWith(claimBody, body);
    const d = await this.claims.claim(me.accountId, input);
    return { chain: input.chain, txHash: d.txHash, logIndex: d.logIndex, token: d.token, amount: formatCredits(d.amount), status: 'credited' };
  }
}
