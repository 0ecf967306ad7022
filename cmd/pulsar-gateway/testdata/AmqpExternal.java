import com.rabbitmq.client.AuthenticationFailureException;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.DefaultSaslConfig;
import com.rabbitmq.client.PossibleAuthenticationFailureException;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

/**
 * RabbitMQ's Java client logs in with EXTERNAL (a client certificate) to a gateway whose AMQP
 * listener requires one. Usage: AmqpExternal HOST PORT CA KNOWN KNOWN_KEY UNKNOWN_USER
 * UNKNOWN_USER_KEY OTHER_CA OTHER_CA_KEY (PEM files; keys PKCS #8 EC). Prints "ok NAME" or "FAIL
 * NAME: why" per scenario and exits 1 when one failed.
 */
public class AmqpExternal {
  static String host, ca;
  static int port;

  public static void main(String[] a) throws Exception {
    host = a[0];
    port = Integer.parseInt(a[1]);
    ca = a[2];
    int failed = 0;
    failed += run("known_certificate", () -> knownCertificate(a[3], a[4]));
    failed += run("unknown_user", () -> unknownUser(a[5], a[6]));
    failed += run("other_ca", () -> otherCA(a[7], a[8]));
    System.exit(failed > 0 ? 1 : 0);
  }

  interface Scenario {
    void run() throws Exception;
  }

  static int run(String name, Scenario s) {
    try {
      s.run();
      System.out.println("ok " + name);
      return 0;
    } catch (Throwable e) {
      System.out.println("FAIL " + name + ": " + e);
      e.printStackTrace(System.out);
      return 1;
    }
  }

  /** A factory logging in with EXTERNAL and the certificate in certFile. */
  static ConnectionFactory factory(String certFile, String keyFile) throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(Path.of(ca))) {
      trust.setCertificateEntry("ca", cf.generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);

    Certificate cert;
    try (var in = Files.newInputStream(Path.of(certFile))) {
      cert = cf.generateCertificate(in);
    }
    String pem = Files.readString(Path.of(keyFile), StandardCharsets.US_ASCII)
        .replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    PrivateKey key = KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
    char[] pass = "unused".toCharArray();
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    keys.setKeyEntry("client", key, pass, new Certificate[] {cert});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(keys, pass);

    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    ConnectionFactory f = new ConnectionFactory();
    f.setHost(host);
    f.setPort(port);
    f.useSslProtocol(ctx);
    f.enableHostnameVerification();
    f.setSaslConfig(DefaultSaslConfig.EXTERNAL);
    f.setAutomaticRecoveryEnabled(false);
    f.setConnectionTimeout(5000);
    f.setHandshakeTimeout(5000);
    return f;
  }

  /** The certificate of a user the password file has: publish, consume. */
  static void knownCertificate(String cert, String key) throws Exception {
    try (Connection c = factory(cert, key).newConnection()) {
      Channel ch = c.createChannel();
      String q = ch.queueDeclare("java-external", false, false, true, null).getQueue();
      ch.basicPublish("", q, null, "by certificate".getBytes(StandardCharsets.UTF_8));
      BlockingQueue<String> got = new ArrayBlockingQueue<>(1);
      ch.basicConsume(q, true, (tag, d) -> got.add(new String(d.getBody(), StandardCharsets.UTF_8)), tag -> {});
      String body = got.poll(10, TimeUnit.SECONDS);
      if (!"by certificate".equals(body)) {
        throw new AssertionError("consumed " + body);
      }
    }
  }

  /** The CA signed it, but the password file lacks its user: 403, as RabbitMQ. */
  static void unknownUser(String cert, String key) throws Exception {
    try (Connection c = factory(cert, key).newConnection()) {
      throw new AssertionError("logged in with a certificate of a user the password file lacks");
    } catch (AuthenticationFailureException e) {
      String want = "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL.";
      if (!e.getMessage().contains(want)) {
        throw new AssertionError("refused with " + e.getMessage() + ", want " + want);
      }
    }
  }

  /**
   * Another CA signed it: the server ends the TLS handshake. Under TLS 1.3 the client has sent
   * its Finished (and perhaps the AMQP header) before the server checked its certificate, so it
   * sees either the server's unknown_ca alert or the socket closed under it (broken pipe,
   * reset), never an AMQP answer. The Go test checks the gateway's side: the handshake's error.
   */
  static void otherCA(String cert, String key) throws Exception {
    try (Connection c = factory(cert, key).newConnection()) {
      throw new AssertionError("logged in with a certificate of another CA");
    } catch (Exception e) {
      boolean tls = false;
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof PossibleAuthenticationFailureException) {
          throw new AssertionError("refused by AMQP, want the TLS handshake to fail", e);
        }
        tls |= t instanceof SSLException && t.getMessage().contains("unknown_ca") || t instanceof SocketException;
      }
      if (!tls) {
        throw new AssertionError("want the unknown_ca alert or the socket closed", e);
      }
    }
  }
}
