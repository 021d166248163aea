package dev.genset.gateway;

import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Secrets at rest (upstream API keys in the store), sealed with AES-256-GCM under a key derived
 * from the configured master key ({@code GENSET_MASTER_KEY}) with PBKDF2-HMAC-SHA256. A sealed
 * value reads {@code enc:v1:} and the base64 of a random 12-byte nonce, the ciphertext and the
 * 16-byte tag; the context it belongs to (e.g. the deployment's name) is authenticated with it,
 * so a sealed value copied to another row does not open.
 *
 * <p>Values without the prefix are plaintext, stored before a master key was configured: they
 * still work, and {@link dev.genset.gateway.admin.AdminService#sealDeploymentKeys} seals them.
 */
public final class SecretBox {
    public static final String PREFIX = "enc:v1:";
    public static final String ENV = "GENSET_MASTER_KEY";
    private static final byte[] SALT = "genset/secret-box/v1".getBytes(StandardCharsets.UTF_8);
    private static final int ITERATIONS = 210_000;
    private static final int NONCE_BYTES = 12, TAG_BITS = 128;
    private static final Map<String, SecretBox> DERIVED = new ConcurrentHashMap<>(); // one derivation per master key and process

    private final SecretKeySpec key;

    private SecretBox(SecretKeySpec key) {
        this.key = key;
    }

    /** The box for a master key, or null when none is configured (null or blank). */
    public static SecretBox of(String masterKey) {
        if (masterKey == null || masterKey.isBlank()) return null;
        return DERIVED.computeIfAbsent(masterKey, SecretBox::derive);
    }

    /** The box for {@code GENSET_MASTER_KEY}, or null if it is not set. */
    public static SecretBox fromEnvironment() {
        return of(System.getenv(ENV));
    }

    private static SecretBox derive(String masterKey) {
        try {
            PBEKeySpec spec = new PBEKeySpec(masterKey.toCharArray(), SALT, ITERATIONS, 256);
            byte[] k = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            spec.clearPassword();
            return new SecretBox(new SecretKeySpec(k, "AES"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot derive the secret key: " + e.getMessage(), e);
        }
    }

    public static boolean isSealed(String value) {
        return value != null && value.startsWith(PREFIX);
    }

    /** Seals a secret for a context (null stays null). */
    public String seal(String plaintext, String context) {
        if (plaintext == null) return null;
        try {
            byte[] nonce = new byte[NONCE_BYTES];
            dev.genset.store.Ids.secureRandom().nextBytes(nonce);
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            byte[] ct = c.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            return PREFIX + Base64.getEncoder().encodeToString(ByteBuffer.allocate(nonce.length + ct.length).put(nonce).put(ct).array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot seal a secret: " + e.getMessage(), e);
        }
    }

    /**
     * A stored value as plaintext: a sealed one opened with the box, a plaintext one as it is.
     *
     * @param box the configured box, or null when no master key is configured
     * @throws IllegalStateException for a sealed value without a box, or one that does not open (another master key or context)
     */
    public static String open(SecretBox box, String stored, String context) {
        if (!isSealed(stored)) return stored;
        if (box == null)
            throw new IllegalStateException("the secret of " + context + " is encrypted: set " + ENV + " to the master key it was encrypted with");
        return box.open(stored, context);
    }

    private String open(String sealed, String context) {
        byte[] all;
        try {
            all = Base64.getDecoder().decode(sealed.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the secret of " + context + " is damaged (not base64)");
        }
        if (all.length < NONCE_BYTES + TAG_BITS / 8) throw new IllegalStateException("the secret of " + context + " is damaged (too short)");
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, all, 0, NONCE_BYTES));
            c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
            return new String(c.doFinal(all, NONCE_BYTES, all.length - NONCE_BYTES), StandardCharsets.UTF_8);
        } catch (AEADBadTagException e) {
            throw new IllegalStateException("the secret of " + context + " does not open with this " + ENV + " (another master key, or damaged)");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot open the secret of " + context + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "SecretBox[AES-256-GCM]";
    }
}
