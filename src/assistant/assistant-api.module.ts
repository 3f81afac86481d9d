/**
 * The dashboard assistant (issue 22): `POST /api/assistant`. It owns no state: it calls the
 * gateway's own proxy with the account's `assistant` key and reads through the account API.
 */
import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { SecretBoxModule } from '../platform/crypto/secret-box';
import { KeysModule } from '../keys/keys.module';
import { ProjectsModule } from '../projects/projects.module';
import { ProxyModule } from '../proxy/proxy.module';
import { AssistantKeyService } from './application/assistant-key.service';
import { AssistantToolsService } from './application/assistant-tools.service';
import { GatewayClient } from './application/gateway-client';
import { AssistantController } from './http/assistant.controller';

@Module({
  imports: [AuthModule, KeysModule, ProjectsModule, ProxyModule, SecretBoxModule],
  controllers: [AssistantController],
  providers: [AssistantKeyService, AssistantToolsService, GatewayClient],
})
export class AssistantApiModule {}
