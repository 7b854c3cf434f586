import { Duration, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HttpVersion,
  OriginRequestPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { FunctionUrlOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { IFunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The header CloudFront adds to every request it sends to the function URL (`lambdas/middlewares/origin-guard.ts`). */
export const ORIGIN_VERIFY_HEADER = 'x-tollgate-origin-verify';

/** CloudFront's origin response timeout without a quota increase; up to 180 s with one. */
export const DEFAULT_ORIGIN_READ_TIMEOUT = Duration.seconds(60);

export interface TollgateEdgeProps {
  readonly stage: string;
  /** The proxy's function URL: the distribution's only origin. */
  readonly functionUrl: IFunctionUrl;
  /** ARN of the WAF web ACL (scope CLOUDFRONT, from `TollgateShieldStack`). */
  readonly webAclArn: string;
  /**
   * How long CloudFront waits for the first byte, and between two chunks, of an answer.
   * @default 60 seconds (the most without a quota increase)
   */
  readonly readTimeout?: Duration;
}

/**
 * CloudFront in front of the proxy's function URL, with the WAF web ACL attached. Nothing is cached
 * (`CachingDisabled`), every method and every viewer header but `Host` reaches the origin, answers are
 * not compressed at the edge (a streamed event goes out as it came), and the origin timeouts are the
 * longest CloudFront allows without a quota increase.
 *
 * The origin knows CloudFront by a header: a random value generated in Secrets Manager, which
 * CloudFront adds to each origin request and the proxy compares before anything else
 * (`TOLLGATE_ORIGIN_SECRET_ARN`). The template holds only a `{{resolve:secretsmanager:…}}` reference,
 * resolved by CloudFormation at deploy time. Origin access control (SigV4 from CloudFront) would need
 * clients to send `x-amz-content-sha256` with every POST, which the OpenAI and Anthropic SDKs do not.
 *
 * @example
 * const edge = new TollgateEdge(this, 'Edge', { stage, functionUrl: url, webAclArn });
 * edge.originSecret.grantRead(proxy);
 */
export class TollgateEdge extends Construct {
  readonly distribution: Distribution;
  readonly originSecret: Secret;
  /** `https://<id>.cloudfront.net/`: the gateway's public base URL. */
  readonly url: string;
  readonly readTimeout: Duration;

  constructor(scope: Construct, id: string, props: TollgateEdgeProps) {
    super(scope, id);
    const readTimeout = props.readTimeout ?? DEFAULT_ORIGIN_READ_TIMEOUT;
    const seconds = readTimeout.toSeconds();
    if (!(Number.isInteger(seconds) && seconds >= 10 && seconds <= 180)) {
      throw new Error(
        `originReadTimeout must be 10 to 180 seconds (over 60 needs a CloudFront quota increase), got ${seconds}`,
      );
    }
    this.readTimeout = readTimeout;
    // Outside `tollgate/<stage>/`: a route's --credential can name only secrets under that prefix, so no
    // route can send this value upstream.
    this.originSecret = new Secret(this, 'OriginSecret', {
      secretName: `tollgate-${props.stage}-origin-verify`,
      description: `Tollgate ${props.stage}: the header value that marks a request as coming through CloudFront`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.originSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The value is copied into the CloudFront distribution at deploy time, so a rotation Lambda would change it ' +
        'behind CloudFront and lock every client out. Rotation is a manual two-step (README, Deploy: The shield).',
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Tollgate ${props.stage}: the gateway behind AWS WAF`,
      defaultBehavior: {
        origin: new FunctionUrlOrigin(props.functionUrl, {
          readTimeout,
          keepaliveTimeout: Duration.seconds(60),
          // unsafeUnwrap renders a dynamic reference, never the value.
          customHeaders: { [ORIGIN_VERIFY_HEADER]: this.originSecret.secretValue.unsafeUnwrap() },
        }),
        allowedMethods: AllowedMethods.ALLOW_ALL,
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        cachePolicy: CachePolicy.CACHING_DISABLED,
        originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: false,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      webAclId: props.webAclArn,
      enableIpv6: true,
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'An LLM gateway serves its key holders wherever they are; keys, not countries, decide who may call it.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Every request is logged by the proxy (request id, account, key, outcome) and sampled by WAF; CloudFront ' +
          'standard logs would need an S3 bucket with ACLs for no additional insight.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The distribution uses the default *.cloudfront.net certificate, whose viewer TLS policy CloudFront fixes; ' +
          'a custom domain with its own certificate can set TLSv1.2_2021.',
      },
    );
    this.url = `https://${this.distribution.distributionDomainName}/`;
  }
}
